"""Malformed-request corpus against a running `aekit serve` (issue 16): seeded mutations of a
valid score request (truncations, byte flips, type swaps, huge and deeply nested arrays, wrong
content types, oversized and slow bodies, non-HTTP bytes). Every answer must be a 4xx (or a 200
where the mutation left a valid request), never a 5xx or a dropped connection, and /healthz must
answer 200 afterwards. Prints one JSON line with the counts.

    python3 corpus.py HOST:PORT MODEL BODY_FILE [N]
"""
import json, random, socket, sys, time

addr, model, body_file = sys.argv[1], sys.argv[2], sys.argv[3]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
host, port = addr.rsplit(":", 1)
valid = open(body_file, "rb").read()
rng = random.Random(0)


def send(raw, timeout=15.0, slow=False):
    s = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        if slow:  # headers, then a trickle of the body that never completes
            head, _, rest = raw.partition(b"\r\n\r\n")
            s.sendall(head + b"\r\n\r\n" + rest[:5])
        else:
            s.sendall(raw)
        buf = b""
        while b"\r\n\r\n" not in buf:
            c = s.recv(65536)
            if not c:
                break
            buf += c
        return int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/1.1 ") else None
    except (socket.timeout, ConnectionError):
        return None
    finally:
        s.close()


def req(body, ctype="application/json", path=None, length=None):
    path = path or f"/v1/models/{model}/score"
    length = len(body) if length is None else length
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode() + body


def mutate():
    k = rng.randrange(12)
    if k == 0:
        return "truncate", req(valid[: rng.randrange(len(valid))])
    if k == 1:
        b = bytearray(valid)
        for _ in range(rng.randrange(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return "flip", req(bytes(b))
    if k == 2:
        v = json.loads(valid)
        v["inputs"][0][rng.randrange(784)] = rng.choice(["x", None, [], {}, True, 1e39, -1e309 if False else "1e9999"])
        return "type", req(json.dumps(v).encode())
    if k == 3:
        d = rng.randrange(100, 200000)
        return "nesting", req(b"[" * d + b"]" * d)
    if k == 4:
        return "huge", req(b'{"inputs": [[' + b"0.5," * rng.randrange(100000, 5000000) + b'0.5]]}')
    if k == 5:
        return "ctype", req(valid, ctype=rng.choice(["text/plain", "image/png", "multipart/form-data", "application/xml"]))
    if k == 6:
        v = json.loads(valid)
        v["inputs"] = v["inputs"] * rng.choice([0, 2000])
        return "samples", req(json.dumps(v).encode())
    if k == 7:
        return "length", req(valid, length=rng.choice([0, 10, len(valid) - 1]))
    if k == 8:
        return "path", req(valid, path=rng.choice(["/v1/models/../../etc/passwd/score", f"/v1/models/{model}/%00", "/v1/models/nope/score",
                                                   f"/v1/models/{model}/upscale", "/" + "a" * 10000]))
    if k == 9:
        return "image", req(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4000))), ctype="image/png",
                            path=f"/v1/models/{model}/score")
    if k == 10:
        return "garbage", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))) + b"\r\n\r\n"
    v = json.loads(valid)
    v[rng.choice(["alpha", "extra", "inputs"])] = rng.choice([-1, 2, "a", None, [1, 2]])
    return "fields", req(json.dumps(v).encode())


counts, bad = {}, []
for i in range(n):
    kind, raw = mutate()
    st = send(raw)
    counts.setdefault(kind, {}).setdefault(str(st), 0)
    counts[kind][str(st)] += 1
    # Garbage that is not HTTP may be answered with 400 or a closed connection; all else needs a code.
    if (st is None and kind != "garbage") or (st is not None and st >= 500):
        bad.append((i, kind, st))
slow = [send(req(valid), slow=True) for _ in range(5)]
time.sleep(0.5)
alive = send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print(json.dumps({"requests": n, "by_kind_status": counts, "slow_body_status": slow, "failures": bad[:20], "n_failures": len(bad),
                  "healthz_after": alive}))
sys.exit(0 if not bad and alive == 200 and all(s == 408 for s in slow) else 1)
