"""One line per cubecl autotune decision (the `[autotune.decisions]` file, JSON lines): the
operation, its key's main fields, the winning kernel and its median time, and how many
candidates ran or failed.

    python decisions.py DECISIONS_JSONL
"""
import json
import sys


def ns(d):
    return d["secs"] * 1e9 + d["nanos"]


for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    (op, key), = d["key"].items() if isinstance(d["key"], dict) and len(d["key"]) == 1 else [("?", d["key"])]
    fields = {k: v for k, v in key.items() if not k.endswith("_align")} if isinstance(key, dict) else key
    ok = [r["outcome"]["Ok"] for r in d["results"] if "Ok" in r["outcome"]]
    win = min(ok, key=lambda r: ns(r["computation"]["median"])) if ok else None
    ran = ", ".join(f'{r["name"]} {ns(r["computation"]["median"]) / 1e6:.3f}' for r in ok)
    print(f'{op} {json.dumps(fields, separators=(",", ":"))}\n    winner {win["name"] if win else None}; ran (ms): {ran}; failed: {len(d["results"]) - len(ok)}')
