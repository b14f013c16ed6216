"""Median over repeats of each (batching, concurrency) of bench/serve/run.sh's results.jsonl.

aekit's rows (batching on, then off) come first; other servers (batching "fastapi+pytorch", the
rival) follow as extra rows, by name. Their RSS is the whole process tree (uvicorn's workers).
"""
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
order = {"on": 0, "off": 1}
keys = sorted({(r["batching"], int(r["concurrency"])) for r in rows},
              key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
print("| batching | concurrency | requests/s | p50 ms | p99 ms | non-2xx | requests | server RSS MiB (first -> last) |")
print("|---|---|---|---|---|---|---|---|")
for b, c in keys:
    rs = [r for r in rows if r["batching"] == b and int(r["concurrency"]) == c]
    med = lambda k: statistics.median(r[k] for r in rs)
    print(f"| {b} | {c} | {med('requests_per_s'):.0f} | {med('p50_ms'):.2f} | {med('p99_ms'):.2f} | "
          f"{sum(int(r['non2xx']) + int(r['socket_errors']) for r in rs)} | {sum(int(r['requests']) for r in rs)} | "
          f"{rs[0]['rss_kib_before'] / 1024:.1f} -> {rs[-1]['rss_kib_after'] / 1024:.1f} |")
