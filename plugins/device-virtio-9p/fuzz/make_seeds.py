#!/usr/bin/env python3
"""Writes the seed corpus of the 9P fuzz targets and corpus.list.

   fuzz/make_seeds.py            (from plugins/device-virtio-9p)

message/: one T-message each (valid ones of every type, and malformed ones).
server/:  streams of T-messages for a server already versioned and attached
          with fid 0 at the share root (which holds an empty "sub" folder).
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack('<H', len(b)) + b


def msg(mtype, tag, body):
    return struct.pack('<IBH', 7 + len(body), mtype, tag) + body


def u32(*v):
    return struct.pack('<' + 'I' * len(v), *v)


def u64(*v):
    return struct.pack('<' + 'Q' * len(v), *v)


NOFID = 0xffffffff
MESSAGES = {
    'version': msg(100, 0xffff, u32(524288) + s('9P2000.L')),
    'attach': msg(104, 1, u32(0, NOFID) + s('sandbox') + s('') + u32(1000)),
    'walk': msg(110, 2, u32(0, 1) + struct.pack('<H', 2) + s('sub') + s('file')),
    'walk-16': msg(110, 2, u32(0, 1) + struct.pack('<H', 16) + s('a') * 16),
    'walk-17': msg(110, 2, u32(0, 1) + struct.pack('<H', 17) + s('a') * 17),
    'lopen': msg(12, 3, u32(1, 2)),
    'lcreate': msg(14, 4, u32(1) + s('new') + u32(0o102, 0o644, 1000)),
    'symlink': msg(16, 5, u32(1) + s('ln') + s('/etc') + u32(1000)),
    'mknod': msg(18, 5, u32(1) + s('dev') + u32(0o20644, 1, 3, 1000)),
    'rename': msg(20, 5, u32(1, 0) + s('x')),
    'readlink': msg(22, 6, u32(1)),
    'getattr': msg(24, 7, u32(1) + u64(0x7ff)),
    'setattr': msg(26, 8, u32(1, 0x1ff, 0o644, 0, 0) + u64(3, 1, 2, 3, 4)),
    'xattrwalk': msg(30, 9, u32(1, 2) + s('security.capability')),
    'xattrcreate': msg(32, 9, u32(1) + s('user.a') + u64(4) + u32(0)),
    'readdir': msg(40, 10, u32(1) + u64(0) + u32(4096)),
    'fsync': msg(50, 11, u32(1, 1)),
    'lock': msg(52, 12, u32(1) + b'\x01' + u32(0) + u64(0, 10) + u32(7) + s('client')),
    'getlock': msg(54, 12, u32(1) + b'\x01' + u64(0, 10) + u32(7) + s('client')),
    'link': msg(70, 13, u32(0, 1) + s('hard')),
    'mkdir': msg(72, 14, u32(0) + s('d') + u32(0o755, 1000)),
    'renameat': msg(74, 15, u32(0) + s('a') + u32(0) + s('b')),
    'unlinkat': msg(76, 16, u32(0) + s('a') + u32(0x200)),
    'flush': msg(108, 17, struct.pack('<H', 3)),
    'read': msg(116, 18, u32(1) + u64(0) + u32(1 << 30)),
    'write': msg(118, 19, u32(1) + u64(5) + u32(5) + b'hello'),
    'write-short': msg(118, 19, u32(1) + u64(5) + u32(500) + b'hello'),
    'clunk': msg(120, 20, u32(1)),
    'remove': msg(122, 21, u32(1)),
    'statfs': msg(8, 22, u32(0)),
    'auth': msg(102, 23, u32(5) + s('u') + s('') + u32(0)),
    'size-lies': struct.pack('<IBH', 4096, 116, 1) + u32(1),
    'header-only': struct.pack('<IBH', 7, 24, 1),
    'trailing': msg(120, 20, u32(1) + b'junk'),
    'string-past-end': msg(72, 14, u32(0) + struct.pack('<H', 900) + b'd'),
}


def walk(tag, fid, newfid, *names):
    return msg(110, tag, u32(fid, newfid) + struct.pack('<H', len(names)) + b''.join(s(n) for n in names))


SERVER = {
    'create-write-read': walk(2, 0, 1) + msg(14, 3, u32(1) + s('f') + u32(0o102, 0o644, 1000)) +
    msg(118, 4, u32(1) + u64(0) + u32(3) + b'abc') + msg(116, 5, u32(1) + u64(0) + u32(100)) +
    msg(24, 6, u32(1) + u64(0x7ff)) + msg(26, 7, u32(1, 8, 0, 0, 0) + u64(1, 0, 0, 0, 0)) +
    msg(120, 8, u32(1)),
    'dirs-and-links': msg(72, 2, u32(0) + s('d') + u32(0o755, 1000)) +
    msg(16, 3, u32(0) + s('l') + s('/etc') + u32(1000)) + walk(4, 0, 1, 'l') +
    msg(22, 5, u32(1)) + msg(12, 6, u32(1, 0)) + walk(7, 0, 2, 'd') +
    msg(74, 8, u32(0) + s('d') + u32(0) + s('e')) + msg(76, 9, u32(0) + s('e') + u32(0x200)),
    'escape-attempts': walk(2, 0, 1, '..', '..', 'etc', 'passwd') + walk(3, 0, 2, '../etc') +
    msg(14, 4, u32(0) + s('../x') + u32(0o102, 0o644, 1000)) + walk(5, 0, 3, 'sub', '..', '..'),
    'readdir': walk(2, 0, 1) + msg(12, 3, u32(1, 0)) + msg(40, 4, u32(1) + u64(0) + u32(40)) +
    msg(40, 5, u32(1) + u64(1) + u32(4096)) + msg(8, 6, u32(1)),
    'fid-churn': b''.join(walk(10 + i, 0, 100 + i) for i in range(70)) +
    b''.join(msg(120, 90 + i, u32(100 + i)) for i in range(70)),
    'reversion': msg(100, 0xffff, u32(8192) + s('9P2000.L')) + msg(24, 2, u32(0) + u64(0x7ff)),
}


def main():
    names = []
    for target, table in (('message', MESSAGES), ('server', SERVER)):
        d = os.path.join(HERE, 'corpus', target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(table.items()):
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
            names.append(f'{target}/{name}')
    with open(os.path.join(HERE, 'corpus.list'), 'w') as f:
        f.write('# Every input of corpus/ the replay test must find (one path a line, relative\n'
                '# to corpus/). Written by make_seeds.py; a new input must be listed.\n')
        f.write('\n'.join(sorted(names)) + '\n')


if __name__ == '__main__':
    main()
