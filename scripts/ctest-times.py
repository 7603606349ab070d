#!/usr/bin/env python3
"""Prints the time a ctest run spent, in all and per label.

usage: ctest-times.py JUNIT.xml TESTS.json
JUNIT.xml is ctest's --output-junit report of the run; TESTS.json is
`ctest --show-only=json-v1`, which says each test's labels. A test with
several labels counts towards each of them, so the per-label figures can add
up to more than the total.
"""
import json
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
    with open(sys.argv[2]) as f:
        tests = json.load(f).get("tests", [])
    labels = {}
    for t in tests:
        for p in t.get("properties", []):
            if p.get("name") == "LABELS":
                labels[t["name"]] = p.get("value", [])
    total, count = 0.0, 0
    per_label = {}
    slowest = []
    for c in cases:
        secs = float(c.get("time", "0"))
        name = c.get("name", "?")
        total += secs
        count += 1
        slowest.append((secs, name))
        for label in labels.get(name, ["(no label)"]):
            n, s = per_label.get(label, (0, 0.0))
            per_label[label] = (n + 1, s + secs)
    print(f"test time: {count} tests, {total:.0f} s in all")
    for label, (n, s) in sorted(per_label.items(), key=lambda kv: -kv[1][1]):
        print(f"  label {label:<14} {n:4d} tests {s:8.0f} s")
    print("  slowest:", ", ".join(f"{n} {s:.0f} s" for s, n in sorted(slowest, reverse=True)[:5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
