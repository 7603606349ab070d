#!/usr/bin/env python3
"""Writes the seed corpus of net_filter_fuzz (corpus/filter/), in the record
format filter_fuzz_body.hpp describes. Rerun after changing that format."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "filter")


def ip(text):
    return bytes(int(p) for p in text.split("."))


def record(op, body):
    return bytes([op]) + struct.pack(">H", len(body)) + body


def wrapped(protocol, dst, l4):
    return record(1, bytes([protocol]) + ip(dst) + l4)


def tcp(dst, dport, flags=0x02, sport=40000, seq=1000, ack=0):
    seg = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    return wrapped(6, dst, seg)


def dns_query(name, qtype=1, qid=0x4242):
    msg = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        msg += bytes([len(label)]) + label.encode()
    return msg + b"\0" + struct.pack(">HH", qtype, 1)


def udp(dst, dport, payload, sport=50000):
    return wrapped(17, dst, struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload)


def answer(ttl, *addresses):
    return record(3, bytes([ttl]) + b"".join(ip(a) for a in addresses))


def name_wire(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


def rr(owner, rtype, ttl, data):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(data)) + data


def upstream(name, records, rcode=0, qid=0x4242, flags=0x8180):
    """The upstream's raw answer (op 5) to the pending lookup of `name`."""
    msg = struct.pack(">HHHHHH", qid, flags | rcode, 1, len(records), 0, 0)
    msg += name_wire(name) + struct.pack(">HH", 1, 1) + b"".join(records)
    return record(5, msg)


TO_QUESTION = b"\xc0\x0c"


def clock(tenths):
    return record(2, bytes([tenths]))


GUEST_MAC = bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56])
GATEWAY_MAC = bytes([0x52, 0x55, 10, 0, 2, 2])
ARP = (b"\xff" * 6 + GUEST_MAC + b"\x08\x06" + bytes([0, 1, 8, 0, 6, 4, 0, 1]) + GUEST_MAC +
       ip("10.0.2.15") + bytes(6) + ip("10.0.2.2"))

SEEDS = {
    "open-metadata": bytes([0]) + tcp("169.254.169.254", 80) + tcp("93.184.216.34", 443) +
    udp("169.254.169.254", 80, b"x") + wrapped(1, "169.254.169.254", bytes([8, 0, 0, 0, 0, 1, 0, 1])),
    "allowlist-resolve-connect": bytes([1]) + udp("10.0.2.3", 53, dns_query("example.com")) +
    answer(60, "93.184.216.34", "93.184.216.35") + tcp("93.184.216.34", 443) + clock(250) +
    clock(250) + clock(250) + tcp("93.184.216.34", 443, sport=40001),
    "allowlist-nxdomain-other-server": bytes([1]) + udp("10.0.2.3", 53, dns_query("evil.net")) +
    udp("8.8.8.8", 53, dns_query("files.pypi.org")) + record(3, b"") +
    udp("8.8.8.8", 53, dns_query("example.com", 28)) + tcp("8.8.8.8", 53),
    "limits": bytes([8 | 16 | 32]) + b"".join(tcp("1.2.3.4", 80, sport=p) for p in range(1, 6)) +
    tcp("1.2.3.4", 80, flags=0x11, sport=1) + tcp("1.2.3.4", 80, flags=0x04, sport=2) +
    clock(20) + tcp("1.2.3.4", 80, sport=9),
    "raw-frames": bytes([0]) + record(0, ARP) + record(0, ARP[:20]) +
    record(0, GATEWAY_MAC + GUEST_MAC + b"\x86\xdd" + bytes(40)) + record(0, bytes(13)),
    "destroy-with-pending": bytes([1]) + udp("10.0.2.3", 53, dns_query("example.com")) +
    record(4, b"\xff"),
    "upstream-answers": bytes([1]) + udp("10.0.2.3", 53, dns_query("www.pypi.org")) +
    upstream("www.pypi.org", [rr(name_wire("evil.test"), 1, 5, ip("6.6.6.6")),
                                 rr(TO_QUESTION, 5, 30, name_wire("cdn.example.net")),
                                 rr(name_wire("cdn.example.net"), 1, 120, ip("151.101.1.1"))]) +
    tcp("151.101.1.1", 443) + tcp("6.6.6.6", 443) +
    udp("8.8.8.8", 53, dns_query("gone.pypi.org")) + upstream("gone.pypi.org", [], rcode=3) +
    udp("10.0.2.3", 53, dns_query("example.com")) +
    upstream("example.com", [], qid=0x1111) +
    upstream("example.com", [b"\xc0\x21" + struct.pack(">HHIH", 1, 1, 60, 4) + ip("1.1.1.1")]) +
    udp("10.0.2.3", 53, dns_query("files.pypi.org")) +
    upstream("files.pypi.org", [rr(TO_QUESTION, 1, 60, ip("151.101.0.223"))], flags=0x8380),
    "cidrs-and-forwards": bytes([2 | 4 | 64]) + tcp("192.168.1.1", 22) + tcp("8.8.8.8", 443) +
    tcp("10.0.2.2", 11434) + udp("192.168.9.9", 4000, b"reply", sport=8080) +
    tcp("93.184.216.34", 80, flags=0x12),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
