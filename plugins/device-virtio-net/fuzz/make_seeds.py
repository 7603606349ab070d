#!/usr/bin/env python3
"""Writes the seed inputs of corpus/virtio_net/ in the layout that
virtio_net_fuzz_body.cpp reads (little-endian fields, then operations), so
each seed starts the fuzzer on a path that a random input rarely finds: a TSO
packet, checksum completion, mergeable rx, the backlog, resets."""
import os
import struct
import sys

ALL = 0xFFFFFFFFFFFFFFFF
NO_MRG = ALL & ~(1 << 15)


def head(features, mtu_index=0, backlog=4):
    b = struct.pack("<BBQ", mtu_index, backlog, features)
    b += struct.pack("<BHHH", 4, 0x0000, 0x0100, 0x0200)  # rx: 16 entries
    b += struct.pack("<BHHH", 4, 0x0400, 0x0500, 0x0600)  # tx: 16 entries
    return b + struct.pack("<H", 0)  # no RAM fill


def tx_packet(gpa, length, flags, gso, gso_size, cs_start, cs_off, ip_len, slot, tcp_flags=0x18):
    return struct.pack("<BHHBBHBBBHBBB", 7, gpa, length, flags, gso, gso_size, cs_start, cs_off,
                       0, ip_len, 0x50, tcp_flags, slot)


def rx_buffer(gpa, slot, length):
    return struct.pack("<BHBH", 6, gpa, slot, length)


def inject(frame):
    return struct.pack("<BH", 2, len(frame)) + frame


def notify(q):
    return bytes([1 if q == "rx" else 0])


def frame(n, seed=1):
    return bytes(((i * 131 + seed * 7) >> 1) & 0xFF for i in range(n))


SEEDS = {
    "tso": head(ALL) + tx_packet(0x2000, 12 + 54 + 9000, 1, 1, 1448, 34, 16, 40 + 9000, 0)
    + tx_packet(0x6000, 12 + 54 + 100, 1, 0x81, 1448, 34, 16, 140, 1),
    "csum": head(ALL) + tx_packet(0x2000, 12 + 54 + 700, 1, 0, 0, 34, 16, 740, 0)
    + tx_packet(0x3000, 12 + 54, 1, 0, 0, 200, 200, 40, 1),
    "mergeable-rx": head(ALL) + b"".join(rx_buffer(0x2000 + 0x400 * i, i, 512) for i in range(6))
    + inject(frame(1514)) + inject(frame(60, 2)) + notify("rx"),
    "single-rx": head(NO_MRG) + rx_buffer(0x2000, 0, 1600) + rx_buffer(0x3000, 1, 100)
    + inject(frame(1400)) + inject(frame(1400, 3)) + inject(frame(40, 4)),
    "backlog": head(ALL, backlog=3) + b"".join(inject(frame(300, i)) for i in range(5))
    + b"".join(rx_buffer(0x2000 + 0x800 * i, i, 2048) for i in range(4)) + notify("rx"),
    "reset-and-peer": head(ALL) + tx_packet(0x2000, 12 + 54 + 500, 0, 0, 0, 0, 0, 540, 0)
    + bytes([4, 0]) + tx_packet(0x2000, 12 + 54 + 500, 0, 0, 0, 0, 0, 540, 1) + bytes([4, 1])
    + bytes([5]) + inject(frame(100)) + rx_buffer(0x3000, 0, 2048) + notify("rx"),
    "broken-avail": head(ALL) + struct.pack("<BBH", 8, 1, 0x7777) + tx_packet(
        0x2000, 100, 0, 0, 0, 0, 0, 60, 0) + struct.pack("<BBH", 8, 0, 300) + rx_buffer(0x3000, 0, 64)
    + inject(frame(100)),
    "small-mtu-tso": head(ALL, mtu_index=2) + tx_packet(0x2000, 12 + 54 + 4000, 1, 1, 9000, 34, 16,
                                                        4040, 0),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "virtio_net")
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
with open(os.path.join(os.path.dirname(out), "..", "corpus.list"), "w") as f:
    f.write("# Every input of corpus/ the replay test must find (one path a line, relative\n"
            "# to corpus/). Deleting an input fails the test; a new one must be listed.\n")
    for name in sorted(SEEDS):
        f.write(f"virtio_net/{name}\n")
sys.exit(0)
