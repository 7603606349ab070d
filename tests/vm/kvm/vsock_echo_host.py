#!/usr/bin/env python3
"""Host side of the vsock VM test: over voidbox-vmm's hybrid vsock socket,
sends 64 MiB of pseudo-random bytes to the guest's echo program on port 5000
while reading the echo, then compares SHA-256 of what went and what came back.

usage: vsock_echo_host.py SOCKET [MIB]
"""
import hashlib
import random
import socket
import sys
import threading
import time

path = sys.argv[1]
total = int(sys.argv[2] if len(sys.argv) > 2 else 64) << 20

deadline = time.monotonic() + 60
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(b"CONNECT 5000\n")
        line = b""
        while not line.endswith(b"\n") and len(line) < 64:
            c = s.recv(1)
            if not c:
                raise ConnectionError("closed before OK")
            line += c
        if not line.startswith(b"OK "):
            raise ConnectionError("bad answer %r" % line)
        break
    except OSError as e:
        s.close()
        if time.monotonic() > deadline:
            print("vsock handshake failed: %s" % e, file=sys.stderr)
            sys.exit(1)
        time.sleep(0.05)

rng = random.Random(1234)
sent = hashlib.sha256()
received = hashlib.sha256()
got = [0]


def reader():
    while True:
        b = s.recv(1 << 20)
        if not b:
            return
        received.update(b)
        got[0] += len(b)


t = threading.Thread(target=reader)
t.start()
start = time.monotonic()
left = total
while left:
    chunk = rng.randbytes(min(left, 1 << 20))
    sent.update(chunk)
    s.sendall(chunk)
    left -= len(chunk)
s.shutdown(socket.SHUT_WR)
t.join(120)
elapsed = time.monotonic() - start
s.close()
if got[0] != total or sent.digest() != received.digest():
    print("vsock echo mismatch: sent %d bytes sha256 %s, got %d bytes sha256 %s"
          % (total, sent.hexdigest(), got[0], received.hexdigest()), file=sys.stderr)
    sys.exit(1)
print("vsock echo OK: %d MiB both ways in %.2f s, sha256 %s"
      % (total >> 20, elapsed, sent.hexdigest()))
