#!/usr/bin/env python3
"""Prints where each vCPU of a running L1 is, from QEMU's human monitor.

scripts/vmtest.sh calls this when L1 stops responding, before it kills QEMU:
the monitor's `info registers -a` gives every vCPU's RIP, which System.map
or L1's own /proc/kallsyms (L1 boots with nokaslr, so addresses match) turns into a function
name. The raw register dump goes to --raw for the console log's side.

usage: vmtest-cpu-state.py --socket MONITOR.sock [--symbols FILE] [--raw FILE]
--symbols takes System.map or /proc/kallsyms lines (ADDRESS TYPE NAME [MODULE]).
"""
import argparse
import bisect
import os
import re
import socket
import sys
import time

PROMPT = b"(qemu) "


def monitor_command(path, command, timeout_s):
    """Runs one HMP command and returns its output (without the echo and prompt)."""
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(path)
        buf = b""
        while not buf.endswith(PROMPT):  # the greeting
            chunk = sock.recv(65536)
            if not chunk or time.monotonic() > deadline:
                raise TimeoutError("no monitor prompt")
            buf += chunk
        sock.sendall(command.encode() + b"\n")
        buf = b""
        while not buf.endswith(PROMPT):
            chunk = sock.recv(65536)
            if not chunk or time.monotonic() > deadline:
                break
            buf += chunk
    text = buf.decode(errors="replace").replace("\r", "")
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # the monitor's line editing
    lines = text.split("\n")
    if lines and lines[-1].startswith("(qemu)"):
        lines.pop()
    if lines and command in lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def load_symbols(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) in (3, 4) and parts[1] in "tTwW":
                addrs.append(int(parts[0], 16))
                names.append(" ".join(parts[2:]))
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def symbolize(rip, symbols):
    addrs, names = symbols
    i = bisect.bisect_right(addrs, rip) - 1
    if i < 0 or rip - addrs[i] > 0x100000:
        return "?"
    return f"{names[i]}+{rip - addrs[i]:#x}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--symbols")
    ap.add_argument("--raw")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()

    try:
        regs = monitor_command(args.socket, "info registers -a", args.timeout)
    except (OSError, TimeoutError) as e:
        print(f"cannot read L1's registers from the monitor: {e}")
        return 1
    if args.raw:
        with open(args.raw, "w") as f:
            f.write(regs + "\n")
    have_symbols = args.symbols and os.path.isfile(args.symbols)
    symbols = load_symbols(args.symbols) if have_symbols else ([], [])

    cpu = None
    for line in regs.split("\n"):
        m = re.match(r"\s*CPU#(\d+)", line)
        if m:
            cpu = m.group(1)
        m = re.search(r"RIP=([0-9a-f]{16}).*CPL=(\d).*HLT=(\d)", line)
        if m and cpu is not None:
            rip = int(m.group(1), 16)
            where = "user" if rip < 0x8000000000000000 else symbolize(rip, symbols)
            halted = " (halted)" if m.group(3) == "1" else ""
            print(f"L1 CPU#{cpu}: RIP={rip:#018x} CPL={m.group(2)} {where}{halted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
