#!/usr/bin/env python3
"""Writes the seed corpus of the FUSE fuzz targets (fuzz/corpus/) and
corpus.list. request/: one request per file, valid ones and ones that lie
about their lengths. server/: request streams, each after the harness's
own INIT."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

OP = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8, MKDIR=9,
          UNLINK=10, RMDIR=11, RENAME=12, OPEN=14, READ=15, WRITE=16, STATFS=17, RELEASE=18,
          FSYNC=20, FLUSH=25, INIT=26, OPENDIR=27, READDIR=28, RELEASEDIR=29, ACCESS=34,
          CREATE=35, DESTROY=38, BATCH_FORGET=42, READDIRPLUS=44, RENAME2=45, LSEEK=46)


def req(op, nodeid=1, body=b"", names=(), data=b"", unique=2, length=None):
    payload = body + b"".join(n + b"\0" for n in names) + data
    n = 40 + len(payload) if length is None else length
    return struct.pack("<IIQQIIIHH", n, OP[op], unique, nodeid, 1000, 1000, 1, 0, 0) + payload


def read_in(fh, off, size):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, 0, 0)


def requests():
    yield "init", req("INIT", 0, struct.pack("<IIIII44x", 7, 38, 65536, 0xffffffff, 0))
    yield "init-old", req("INIT", 0, struct.pack("<IIII", 7, 31, 65536, 0))
    yield "lookup", req("LOOKUP", 1, names=[b"hello"])
    yield "lookup-unterminated", req("LOOKUP", 1, data=b"no-nul")
    yield "lookup-long", req("LOOKUP", 1, names=[b"a" * 300])
    yield "forget", req("FORGET", 2, struct.pack("<Q", 1))
    yield "batch-forget", req("BATCH_FORGET", 0, struct.pack("<II", 2, 0),
                              data=struct.pack("<QQQQ", 2, 1, 3, 1))
    yield "batch-forget-lies", req("BATCH_FORGET", 0, struct.pack("<II", 999999, 0),
                                   data=struct.pack("<QQ", 2, 1))
    yield "getattr", req("GETATTR", 1, struct.pack("<IIQ", 0, 0, 0))
    yield "setattr", req("SETATTR", 2, struct.pack("<II", 0x9, 0) + bytes(80))
    yield "readlink", req("READLINK", 2)
    yield "symlink", req("SYMLINK", 1, names=[b"l", b"/etc"])
    yield "mknod", req("MKNOD", 1, struct.pack("<IIII", 0o20644, 0, 0, 0), names=[b"dev"])
    yield "mkdir", req("MKDIR", 1, struct.pack("<II", 0o755, 0), names=[b"d"])
    yield "unlink", req("UNLINK", 1, names=[b"x"])
    yield "rmdir", req("RMDIR", 1, names=[b"d"])
    yield "rename", req("RENAME", 1, struct.pack("<Q", 1), names=[b"a", b"b"])
    yield "rename2", req("RENAME2", 1, struct.pack("<QII", 1, 1, 0), names=[b"a", b"b"])
    yield "open", req("OPEN", 2, struct.pack("<II", 2, 0))
    yield "opendir", req("OPENDIR", 1, struct.pack("<II", 0, 0))
    yield "read", req("READ", 2, read_in(1, 0, 4096))
    yield "readdir", req("READDIR", 1, read_in(1, 0, 4096))
    yield "readdirplus", req("READDIRPLUS", 1, read_in(1, 0, 4096))
    yield "write", req("WRITE", 2, struct.pack("<QQIIQII", 1, 0, 5, 0, 0, 0, 0), data=b"hello")
    yield "write-lies", req("WRITE", 2, struct.pack("<QQIIQII", 1, 0, 5000, 0, 0, 0, 0), data=b"x")
    yield "statfs", req("STATFS", 1)
    yield "release", req("RELEASE", 2, struct.pack("<QIIQ", 1, 0, 0, 0))
    yield "fsync", req("FSYNC", 2, struct.pack("<QII", 1, 1, 0))
    yield "flush", req("FLUSH", 2, struct.pack("<QIIQ", 1, 0, 0, 0))
    yield "access", req("ACCESS", 2, struct.pack("<II", 2, 0))
    yield "create", req("CREATE", 1, struct.pack("<IIII", 0o101, 0o644, 0, 0), names=[b"f"])
    yield "destroy", req("DESTROY", 0)
    yield "unknown", req("LSEEK", 2, bytes(24))
    yield "header-only", req("GETATTR", 1)
    yield "len-past-end", req("LOOKUP", 1, names=[b"x"], length=4096)
    yield "len-short", req("LOOKUP", 1, names=[b"x"], length=8)
    yield "trailing", req("LOOKUP", 1, names=[b"x"]) + b"garbage"


def servers():
    yield "create-write-read", b"".join([
        req("CREATE", 1, struct.pack("<IIII", 0o102, 0o644, 0, 0), names=[b"f"], unique=3),
        req("WRITE", 2, struct.pack("<QQIIQII", 1, 0, 5, 0, 0, 0, 0), data=b"hello", unique=4),
        req("READ", 2, read_in(1, 0, 100), unique=5),
        req("SETATTR", 2, struct.pack("<II", 0x8, 0) + bytes(80), unique=6),
        req("RELEASE", 2, struct.pack("<QIIQ", 1, 0, 0, 0), unique=7),
    ])
    yield "dirs", b"".join([
        req("MKDIR", 1, struct.pack("<II", 0o755, 0), names=[b"d"], unique=3),
        req("OPENDIR", 1, struct.pack("<II", 0, 0), unique=4),
        req("READDIRPLUS", 1, read_in(1, 0, 4096), unique=5),
        req("READDIR", 1, read_in(1, 0, 64), unique=6),
        req("RENAME2", 1, struct.pack("<QII", 2, 0, 0), names=[b"dir", b"moved"], unique=7),
        req("RMDIR", 1, names=[b"d"], unique=8),
        req("RELEASEDIR", 1, struct.pack("<QIIQ", 1, 0, 0, 0), unique=9),
    ])
    yield "escape-attempts", b"".join([
        req("LOOKUP", 1, names=[b".."], unique=3),
        req("LOOKUP", 1, names=[b"escape"], unique=4),
        req("CREATE", 2, struct.pack("<IIII", 0o101, 0o644, 0, 0), names=[b"planted"], unique=5),
        req("MKDIR", 2, struct.pack("<II", 0o755, 0), names=[b"planted"], unique=6),
        req("SYMLINK", 2, names=[b"planted", b"/"], unique=7),
        req("OPEN", 2, struct.pack("<II", 2, 0), unique=8),
        req("CREATE", 1, struct.pack("<IIII", 0o101, 0o644, 0, 0), names=[b"../outside/x"], unique=9),
        req("RENAME", 1, struct.pack("<Q", 2), names=[b"dir", b"x"], unique=10),
    ])
    yield "forget-churn", b"".join(
        [req("LOOKUP", 1, names=[b"dir"], unique=10 + i) for i in range(8)] +
        [req("FORGET", 2, struct.pack("<Q", 3)), req("GETATTR", 2, bytes(16), unique=30),
         req("DESTROY", 0, unique=31), req("GETATTR", 2, bytes(16), unique=32)])


def main():
    listed = []
    for sub, gen in (("request", requests), ("server", servers)):
        os.makedirs(os.path.join(CORPUS, sub), exist_ok=True)
        for name, data in gen():
            with open(os.path.join(CORPUS, sub, name), "wb") as f:
                f.write(data)
            listed.append(f"{sub}/{name}")
    with open(os.path.join(HERE, "corpus.list"), "w") as f:
        f.write("# Every input of corpus/ the replay test must find (one path a line, relative\n"
                "# to corpus/). Written by make_seeds.py; a new input must be listed.\n")
        f.write("\n".join(sorted(listed)) + "\n")


if __name__ == "__main__":
    main()
