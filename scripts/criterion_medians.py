#!/usr/bin/env python3
"""Print the median of every criterion benchmark under target/criterion as Markdown rows.

Usage: scripts/criterion_medians.py [PREFIX ...]
Reads <group>/<bench>/new/estimates.json (criterion 0.5 layout) and benchmark.json for the
full id; prints `| id | median | 95% CI of the median |`, sorted by id.
"""
import json
import pathlib
import sys


def fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main() -> None:
    root = pathlib.Path("target/criterion")
    prefixes = sys.argv[1:]
    rows = []
    for est in root.glob("**/new/estimates.json"):
        meta = est.parent / "benchmark.json"
        if not meta.exists():
            continue
        bid = json.loads(meta.read_text())["full_id"]
        if prefixes and not any(bid.startswith(p) for p in prefixes):
            continue
        m = json.loads(est.read_text())["median"]
        ci = m["confidence_interval"]
        rows.append((bid, m["point_estimate"], ci["lower_bound"], ci["upper_bound"]))
    print("| benchmark | median | 95% CI |")
    print("|---|---|---|")
    for bid, med, lo, hi in sorted(rows):
        print(f"| {bid} | {fmt(med)} | {fmt(lo)} – {fmt(hi)} |")


if __name__ == "__main__":
    main()
