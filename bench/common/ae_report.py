#!/usr/bin/env python3
"""Results and report of the autoencoder training benchmarks (bench/common/ae_bench.sh).

  ae_report.py aekit MODEL OUT ROUND     aekit's run folder OUT -> JSON lines (one per epoch, then final)
  ae_report.py tag ROUND                 stdin JSON lines -> stdout, each with "round": ROUND
  ae_report.py report MODEL RESULTS NPROC CPU DATE REV THREADS EPOCHS N_TRAIN ROUNDS
               AEKIT_VERSION AEKIT_SHA BURN LOAD_BEFORE LOAD_AFTER
                                         the markdown report of RESULTS (JSON lines)
"""
import csv
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil  # noqa: E402

# What differs between the models' reports; "metrics": the test figures in report.json / final.
MODELS = {
    "conv": {
        "title": "Conv",
        "image": "28x28",
        "model": "Conv 1->32->64 (3x3 s2 p1, ReLU), ConvTranspose 64->32->1 (3x3 s2 p1 op1, ReLU, sigmoid); "
                 "MSE; Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 0",
        "loss": "MSE",
        "metrics": ("test_mse",),
    },
    "dense": {
        "title": "Dense",
        "image": "784 pixels",
        "model": "Linear 784->128->64->32->64->128->784, ReLU after every layer but the last (logits); "
                 "BCE with logits; Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 0",
        "loss": "BCE",
        "metrics": ("test_bce", "test_mse"),
    },
}
LABELS = {"test_mse": "test MSE", "test_bce": "test BCE"}


def aekit(model, out, rnd):
    rnd = int(rnd)
    with open(f"{out}/metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            print(json.dumps({"tool": "aekit", "round": rnd, "epoch": int(row["epoch"]),
                              "train_seconds": float(row["train_seconds"]),
                              "train_loss": float(row["train_loss"])}))
    with open(f"{out}/report.json") as f:
        rep = json.load(f)
    print(json.dumps({"tool": "aekit", "round": rnd, "kind": "final",
                      **{k: float(rep[k]) for k in MODELS[model]["metrics"]},
                      "n_train": rep.get("n_train"), "n_test": rep.get("n_test")}))


def tag(rnd):
    r = int(rnd)
    for line in sys.stdin:
        o = json.loads(line)
        o["round"] = r
        print(json.dumps(o))


def report(model, path, nproc, cpu, date, rev, threads, epochs, n_train, rounds, aekit_version,
           aekit_sha, burn, load_before, load_after):
    m = MODELS[model]
    epochs_of, final, versions, loads = {}, {}, {}, []
    for o in benchutil.read_jsonl(path):
        if o.get("kind") == "versions":
            versions = o
        elif o.get("kind") == "load":
            loads.append(o)
        elif o.get("kind") == "final":
            final[o["tool"]] = o  # the last round's
        else:
            epochs_of.setdefault(o["tool"], []).append(o)

    def median_s(tool):
        return statistics.median(e["train_seconds"] for e in epochs_of[tool])

    print()
    print(f"## {m['title']} autoencoder training speed, CPU: aekit vs PyTorch")
    print()
    print(f"- data: first {n_train} MNIST training images ({m['image']}, /255, float32); test: 10000 MNIST test images")
    print(f"- model: {m['model']}")
    print(f"- {epochs} epochs x {rounds} round(s), order per round: odd = aekit then PyTorch, even = PyTorch then aekit; "
          "timed: training steps of each epoch only (no data loading, no evaluation)")
    print(f"- machine: nproc={nproc}, CPU: {cpu}; load average before {load_before}, after {load_after}")
    print(f"- date: {date}, aekit git rev: {rev}, {aekit_version} (binary sha256 {aekit_sha}), burn {burn}")
    for o in loads:
        print(f"- contention, round {o['round']} {o['tool']}: whole run {o['wall_s']:.1f} s wall, {o['own_cpu_s']:.1f} CPU-s own, "
              f"{o['other_cpu_s']:.1f} CPU-s by other processes, {o['steal_s']:.1f} s stolen by the hypervisor")
    print(f"- threads: {threads} (RAYON_NUM_THREADS for aekit; torch.set_num_threads + OMP_NUM_THREADS for PyTorch)")
    print(f"- python {versions.get('python')}, torch {versions.get('torch')}, numpy {versions.get('numpy')}; "
          f"torch threads {versions.get('torch_threads')}, interop {versions.get('torch_interop_threads')}, "
          f"mkldnn {versions.get('mkldnn')}, CPU capability {versions.get('cpu_capability')}")
    print()
    metrics = m["metrics"]
    print(f"| tool | median epoch train s | each epoch train s | final train loss ({m['loss']}) | "
          + "".join(f"{LABELS[k]} | " for k in metrics) + "ratio aekit/pytorch |")
    print("|---|---|---|---|" + "---|" * len(metrics) + "---|")
    ratio = "n/a"
    if "aekit" in epochs_of and "pytorch" in epochs_of:
        ratio = f"{median_s('aekit') / median_s('pytorch'):.2f}"
    for tool in ("aekit", "pytorch"):
        if tool not in epochs_of:
            print(f"| {tool} |" + " n/a |" * (4 + len(metrics)))
            continue
        eps = epochs_of[tool]
        each = ", ".join(f"{e['train_seconds']:.2f}" for e in eps)
        last_loss = eps[-1]["train_loss"]
        fin = final.get(tool, {})
        tests = "".join(("n/a" if fin.get(k) is None else f"{fin[k]:.5f}") + " | " for k in metrics)
        print(f"| {tool} | {median_s(tool):.2f} | {each} | {last_loss:.5f} | {tests}"
              f"{ratio if tool == 'aekit' else '1 (reference)'} |")


if __name__ == "__main__":
    commands = {"aekit": (aekit, 3), "tag": (tag, 1), "report": (report, 15)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])
