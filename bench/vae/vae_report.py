#!/usr/bin/env python3
"""Results and report of the VAE benchmark (bench/vae/run.sh).

  vae_report.py aekit OUT ROUND     aekit's run folder OUT -> JSON lines (one per epoch, then final)
  vae_report.py tag ROUND           stdin JSON lines -> stdout, each with "round": ROUND
  vae_report.py report RESULTS NPROC CPU DATE REV THREADS EPOCHS ROUNDS AEKIT_VERSION AEKIT_SHA
                BURN LOAD_BEFORE LOAD_AFTER
                                    the markdown report of RESULTS (JSON lines)

aekit's run folder: metrics.csv (epoch,train_loss,val_loss,val_mse,train_seconds; train_loss
= mean -ELBO per sample over the epoch, val_loss = test -ELBO per sample with z sampled) and
report.json (test_loss: -ELBO per sample, z sampled; test_loss_mean_z; test_reconstruction;
test_kl).
"""
import csv
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import benchutil  # noqa: E402

TOOLS = ("aekit", "pytorch")


def _float(v):
    return None if v in (None, "") else float(v)


def aekit(out, rnd):
    rnd = int(rnd)
    with open(f"{out}/metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            print(json.dumps({"tool": "aekit", "round": rnd, "epoch": int(row["epoch"]),
                              "train_seconds": float(row["train_seconds"]),
                              "train_loss": float(row["train_loss"]),
                              "test_loss": _float(row.get("val_loss"))}))
    with open(f"{out}/report.json") as f:
        rep = json.load(f)
    keys = ("test_loss", "test_loss_mean_z", "test_reconstruction", "test_kl")
    print(json.dumps({"tool": "aekit", "round": rnd, "kind": "final",
                      **{k: _float(rep.get(k)) for k in keys},
                      "n_train": rep.get("n_train"), "n_test": rep.get("n_test")}))


def tag(rnd):
    r = int(rnd)
    for line in sys.stdin:
        if line.strip():
            o = json.loads(line)
            o["round"] = r
            print(json.dumps(o))


def _fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def report(path, nproc, cpu, date, rev, threads, epochs, rounds, aekit_version, aekit_sha, burn,
           load_before, load_after):
    epochs_of, final, versions, loads, gemm = {}, {}, {}, [], {}
    for o in benchutil.read_jsonl(path):
        if o.get("kind") == "gemm":
            gemm[o["tool"]] = o
        elif o.get("kind") == "versions":
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
    print("## VAE training speed, CPU: aekit `vae-mnist` vs the PyTorch example (pytorch/examples vae/main.py)")
    print()
    print("- data: the 60000 MNIST training images (784 pixels, /255, float32); test: the 10000 MNIST test images")
    print("- model: fc1 784->400 ReLU, fc21/fc22 400->20 (mu, logvar), z = mu + eps*exp(logvar/2), "
          "fc3 20->400 ReLU, fc4 400->784 sigmoid; loss = BCE summed over pixels + KL (-ELBO); "
          "Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 1")
    print("- losses: -ELBO per sample in nats; train = mean over the epoch's batches as trained "
          "(sum of batch losses / 60000); test = after the last epoch, z sampled (the example's "
          "test loss) or z = mu")
    print(f"- {epochs} epochs x {rounds} round(s), order per round: odd = aekit then PyTorch, even = PyTorch then aekit; "
          "timed: training steps of each epoch only (no data loading, no evaluation)")
    print(f"- machine: nproc={nproc}, CPU: {cpu}; load average before {load_before}, after {load_after}")
    print(f"- date: {date}, aekit git rev: {rev}, {aekit_version} (binary sha256 {aekit_sha}), burn {burn}")
    for o in loads:
        print(f"- contention, round {o['round']} {o['tool']}: whole run {o['wall_s']:.1f} s wall, {o['own_cpu_s']:.1f} CPU-s own, "
              f"{o['other_cpu_s']:.1f} CPU-s by other processes, {o['steal_s']:.1f} s stolen by the hypervisor")
    print(f"- threads: {threads} (RAYON_NUM_THREADS for aekit; torch.set_num_threads + OMP_NUM_THREADS for PyTorch)")
    if versions:
        print(f"- python {versions.get('python')}, torch {versions.get('torch')}, numpy {versions.get('numpy')}; "
              f"torch threads {versions.get('torch_threads')}, interop {versions.get('torch_interop_threads')}, "
              f"mkldnn {versions.get('mkldnn')}, CPU capability {versions.get('cpu_capability')}")
    print()
    print("| tool | median epoch train s | each epoch train s | final train loss | "
          "test loss (z sampled) | test loss (z = mean) | ratio aekit/pytorch |")
    print("|---|---|---|---|---|---|---|")
    ratio = "n/a"
    if "aekit" in epochs_of and "pytorch" in epochs_of:
        ratio = f"{median_s('aekit') / median_s('pytorch'):.2f}"
    for tool in TOOLS:
        if tool not in epochs_of:
            print(f"| {tool} |" + " n/a |" * 6)
            continue
        eps = epochs_of[tool]
        by_round = {}
        for e in eps:
            by_round.setdefault(e.get("round", 1), []).append(f"{e['train_seconds']:.2f}")
        each = "; ".join(", ".join(v) for _, v in sorted(by_round.items()))
        fin = final.get(tool, {})
        print(f"| {tool} | {median_s(tool):.2f} | {each} | {_fmt(eps[-1]['train_loss'])} | "
              f"{_fmt(fin.get('test_loss'))} | {_fmt(fin.get('test_loss_mean_z'))} | "
              f"{ratio if tool == 'aekit' else '1 (reference)'} |")
    print()
    for tool in TOOLS:
        fin = final.get(tool)
        if not fin:
            continue
        parts = f"reconstruction {_fmt(fin.get('test_reconstruction'))} (z sampled)"
        if fin.get("test_reconstruction_mean_z") is not None:
            parts += f", {_fmt(fin['test_reconstruction_mean_z'])} (z = mean)"
        print(f"- {tool} test -ELBO parts (last round): {parts}, KL {_fmt(fin.get('test_kl'))}")
    # Matrix-multiply work of one training epoch, counted from the model: forward 2·Σ(in·out)
    # per sample, the same again for the weight gradients, and the input gradients of every
    # layer but fc1 (whose input is the data). Elementwise work is not counted.
    layers = [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]
    fwd = 2 * sum(i * o for i, o in layers)
    per_sample = 2 * fwd + 2 * sum(i * o for i, o in layers[1:])
    epoch_gflop = per_sample * 60000 / 1e9
    for tool in TOOLS:
        if tool in epochs_of:
            peak = gemm.get(tool)
            line = f"- {tool}: {epoch_gflop / median_s(tool):.1f} GFLOP/s over the median epoch ({epoch_gflop:.1f} GFLOP of matrix products)"
            if peak:
                line += (f"; its own 1024^3 f32 matmul peaks at {peak['gflops']:.1f} GFLOP/s on {threads} threads "
                         f"(median {peak['median_s'] * 1000:.1f} ms), so the epoch runs at "
                         f"{100 * epoch_gflop / median_s(tool) / peak['gflops']:.0f}% of it")
            print(line)
    for tool in TOOLS:
        eps = epochs_of.get(tool, [])
        last = [e.get("test_loss") for e in eps if e.get("round") == eps[-1].get("round")] if eps else []
        if any(v is not None for v in last):
            print(f"- {tool} test loss (z sampled) after each epoch (last round): " + ", ".join(_fmt(v, 2) for v in last))


if __name__ == "__main__":
    commands = {"aekit": (aekit, 2), "tag": (tag, 1), "report": (report, 13)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])
