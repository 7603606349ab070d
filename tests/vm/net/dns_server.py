#!/usr/bin/env python3
"""A tiny authoritative DNS server for the network VM tests.

    dns_server.py PORT NAME=IPV4 [NAME=IPV4 ...]

Answers A queries for the given names (TTL 60), NXDOMAIN for every other
name, on 127.0.0.1:PORT over UDP. Prints "ready" once bound and one line per
query it answered, so a test can see which queries reached it.
"""
import socket
import struct
import sys


def parse_name(packet, offset):
    labels = []
    while True:
        if offset >= len(packet):
            raise ValueError("name runs past the packet")
        length = packet[offset]
        offset += 1
        if length == 0:
            return ".".join(labels).lower(), offset
        if length & 0xC0:
            raise ValueError("compressed question names are not expected")
        labels.append(packet[offset:offset + length].decode("ascii", "replace"))
        offset += length


def answer(packet, records):
    ident, _flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        return None
    name, end = parse_name(packet, 12)
    qtype, qclass = struct.unpack("!HH", packet[end:end + 4])
    question = packet[12:end + 4]
    address = records.get(name)
    if address is None:
        flags, ancount, body = 0x8183, 0, b""  # response, RD, RA, NXDOMAIN
    elif qtype == 1 and qclass == 1:
        flags, ancount = 0x8180, 1
        body = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
    else:
        flags, ancount, body = 0x8180, 0, b""  # the name exists, no such record
    header = struct.pack("!HHHHHH", ident, flags, 1, ancount, 0, 0)
    print(f"query {name} type {qtype} -> {address or 'NXDOMAIN'}", flush=True)
    return header + question + body


def main():
    port = int(sys.argv[1])
    records = dict(arg.split("=", 1) for arg in sys.argv[2:])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    print("ready", flush=True)
    while True:
        packet, peer = sock.recvfrom(4096)
        try:
            reply = answer(packet, records)
        except (ValueError, struct.error) as error:
            print(f"bad query from {peer}: {error}", flush=True)
            continue
        if reply is not None:
            sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
