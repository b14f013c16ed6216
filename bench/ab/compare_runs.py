"""Compares two trees of aekit outputs: JSON and CSV values exactly (timing fields and columns
left out), safetensors tensors exactly, PNG and other files byte for byte. Prints every difference; exits 1 if any."""
import csv
import json
import os
import sys

TIMING = ("seconds", "train_s")


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not any(t in k for t in TIMING)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def rows(path):
    with open(path, newline="") as f:
        r = list(csv.reader(f))
    if not r:
        return r
    keep = [i for i, h in enumerate(r[0]) if not any(t in h for t in TIMING)]
    return [[row[i] for i in keep if i < len(row)] for row in r]


def tensors(path):
    """A safetensors file's header (without the metadata, which holds random parameter ids) and
    data bytes."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return header, raw[8 + n:]


def main(a, b):
    diffs, same = [], 0
    files = set()
    for root in (a, b):
        for d, _, fs in os.walk(root):
            for f in fs:
                files.add(os.path.relpath(os.path.join(d, f), root))
    for rel in sorted(files):
        pa, pb = os.path.join(a, rel), os.path.join(b, rel)
        if not (os.path.exists(pa) and os.path.exists(pb)):
            diffs.append(f"{rel}: only in {'old' if os.path.exists(pa) else 'new'}")
            continue
        if rel.endswith(".json"):
            equal = strip(json.load(open(pa))) == strip(json.load(open(pb)))
        elif rel.endswith(".csv"):
            equal = rows(pa) == rows(pb)
        elif rel.endswith(".safetensors"):
            equal = tensors(pa) == tensors(pb)
        elif rel.endswith(".html") or rel.endswith(".bpk"):
            # The HTML page quotes timings; Burn keys the optimizer state by random parameter
            # ids (the weights it applies to are compared above).
            continue
        else:
            equal = open(pa, "rb").read() == open(pb, "rb").read()
        if equal:
            same += 1
        else:
            diffs.append(f"{rel}: differs")
    print(f"{same} files equal, {len(diffs)} differences")
    for d in diffs:
        print("  " + d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
