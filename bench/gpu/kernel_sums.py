"""Sums cubecl's per-kernel profiling lines ("| 1.234ms    | kernel name") per kernel name.

    python kernel_sums.py KERNELS_LOG   ->  total, then one line per kernel: share, total, count
"""
import collections
import re
import sys
import zlib

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
LINE = re.compile(r"^\|\s*([0-9.]+)(ns|µs|us|ms|s)\s*\|\s*(.*)$")
total = collections.Counter()
count = collections.Counter()
unmeasured = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = LINE.match(line.strip())
    if not m:
        unmeasured += "not measured" in line
        continue
    full = re.sub(r"\s+", " ", m.group(3))
    # Generated kernels' names run to kilobytes: the start and a hash of the whole tell them apart.
    name = full if len(full) <= 90 else f"{full[:80]} #{zlib.crc32(full.encode()):08x}"
    total[name] += float(m.group(1)) * UNITS[m.group(2)]
    count[name] += 1
all_s = sum(total.values())
print(f"total {all_s:.3f} s of kernels, {sum(count.values())} launches, {len(total)} kernel names, {unmeasured} not measured")
for name, t in total.most_common(60):
    print(f"{100 * t / max(all_s, 1e-12):5.1f}%  {t:8.4f} s  {count[name]:7d}  {name}")
# The same, by kernel family (the name's first field).
family = collections.Counter()
for name, t in total.items():
    family[name.split(" | ")[0].split("_")[0]] += t
print("by family:")
for name, t in family.most_common(25):
    print(f"{100 * t / max(all_s, 1e-12):5.1f}%  {t:8.4f} s  {name}")
