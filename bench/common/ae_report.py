#!/usr/bin/env python3
"""Results and report of the autoencoder training benchmarks (bench/common/ae_bench.sh).

  ae_report.py aekit MODEL OUT ROUND     aekit's run folder OUT -> JSON lines (one per epoch, then final)
  ae_report.py tag ROUND                 stdin JSON lines -> stdout, each with "round": ROUND
  ae_report.py report MODEL RESULTS NPROC CPU DATE REV THREADS EPOCHS N_TRAIN ROUNDS
               AEKIT_VERSION AEKIT_SHA BURN LOAD_BEFORE LOAD_AFTER
                                         the markdown report of RESULTS (JSON lines)

MODEL: conv, dense or vae. aekit's run folder: metrics.csv (epoch, train_loss, val_loss,
val_mse, train_seconds) and report.json (the test figures). For vae: train_loss = mean -ELBO
per sample over the epoch, val_loss = test -ELBO per sample with z sampled; report.json's
test_loss (-ELBO per sample, z sampled), test_loss_mean_z, test_reconstruction and test_kl.
"""
import csv
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchutil  # noqa: E402

TOOLS = ("aekit", "pytorch")

# What differs between the models' reports:
#   heading, image, model, notes (extra lines after the model's)
#   loss: the train loss's name in its column header (None: no name)
#   columns: the test figures of the table (keys of the "final" lines)
#   final: the test figures read from aekit's report.json (default: columns)
#   epoch: per-epoch figures read from aekit's metrics.csv, {key: metrics.csv column}; each is
#          also listed after the table, epoch by epoch (last round)
#   digits: decimals of the losses in the table
#   elbo_parts: list each tool's test -ELBO parts (reconstruction, KL) after the table
#   matmul_layers: (in, out) of each dense layer: each tool's GFLOP/s over the median epoch,
#          set against its "gemm" line (the 1024^3 matmul peak) when there is one
MODELS = {
    "conv": {
        "heading": "Conv autoencoder training speed, CPU: aekit vs PyTorch",
        "image": "28x28",
        "model": "Conv 1->32->64 (3x3 s2 p1, ReLU), ConvTranspose 64->32->1 (3x3 s2 p1 op1, ReLU, sigmoid); "
                 "MSE; Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 0",
        "loss": "MSE",
        "columns": ("test_mse",),
    },
    "dense": {
        "heading": "Dense autoencoder training speed, CPU: aekit vs PyTorch",
        "image": "784 pixels",
        "model": "Linear 784->128->64->32->64->128->784, ReLU after every layer but the last (logits); "
                 "BCE with logits; Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 0",
        "loss": "BCE",
        "columns": ("test_bce", "test_mse"),
    },
    "vae": {
        "heading": "VAE training speed, CPU: aekit `vae-mnist` vs the PyTorch example (pytorch/examples vae/main.py)",
        "image": "784 pixels",
        "model": "fc1 784->400 ReLU, fc21/fc22 400->20 (mu, logvar), z = mu + eps*exp(logvar/2), "
                 "fc3 20->400 ReLU, fc4 400->784 sigmoid; loss = BCE summed over pixels + KL (-ELBO); "
                 "Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 1",
        "notes": ("losses: -ELBO per sample in nats; train = mean over the epoch's batches as trained "
                  "(sum of batch losses / {n_train}); test = after the last epoch, z sampled (the example's "
                  "test loss) or z = mu",),
        "loss": None,
        "columns": ("test_loss", "test_loss_mean_z"),
        "final": ("test_loss", "test_loss_mean_z", "test_reconstruction", "test_kl"),
        "epoch": {"test_loss": "val_loss"},
        "digits": 3,
        "elbo_parts": True,
        "matmul_layers": ((784, 400), (400, 20), (400, 20), (20, 400), (400, 784)),
    },
}
LABELS = {"test_mse": "test MSE", "test_bce": "test BCE",
          "test_loss": "test loss (z sampled)", "test_loss_mean_z": "test loss (z = mean)"}


def _float(v):
    return None if v in (None, "") else float(v)


def _fmt(v, digits):
    return "n/a" if v is None else f"{v:.{digits}f}"


def aekit(model, out, rnd):
    m, rnd = MODELS[model], int(rnd)
    with open(f"{out}/metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            print(json.dumps({"tool": "aekit", "round": rnd, "epoch": int(row["epoch"]),
                              "train_seconds": float(row["train_seconds"]),
                              "train_loss": float(row["train_loss"]),
                              **{k: _float(row.get(col)) for k, col in m.get("epoch", {}).items()}}))
    with open(f"{out}/report.json") as f:
        rep = json.load(f)
    print(json.dumps({"tool": "aekit", "round": rnd, "kind": "final",
                      **{k: _float(rep.get(k)) for k in m.get("final", m["columns"])},
                      "n_train": rep.get("n_train"), "n_test": rep.get("n_test")}))


def tag(rnd):
    r = int(rnd)
    for line in sys.stdin:
        if line.strip():
            o = json.loads(line)
            o["round"] = r
            print(json.dumps(o))


def report(model, path, nproc, cpu, date, rev, threads, epochs, n_train, rounds, aekit_version,
           aekit_sha, burn, load_before, load_after):
    m = MODELS[model]
    digits = m.get("digits", 5)
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
    print(f"## {m['heading']}")
    print()
    print(f"- data: first {n_train} MNIST training images ({m['image']}, /255, float32); test: 10000 MNIST test images")
    print(f"- model: {m['model']}")
    for note in m.get("notes", ()):
        print("- " + note.format(n_train=n_train))
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
    columns = m["columns"]
    loss = f" ({m['loss']})" if m.get("loss") else ""
    print(f"| tool | median epoch train s | each epoch train s | final train loss{loss} | "
          + "".join(f"{LABELS[k]} | " for k in columns) + "ratio aekit/pytorch |")
    print("|---|---|---|---|" + "---|" * len(columns) + "---|")
    ratio = "n/a"
    if "aekit" in epochs_of and "pytorch" in epochs_of:
        ratio = f"{median_s('aekit') / median_s('pytorch'):.2f}"
    for tool in TOOLS:
        if tool not in epochs_of:
            print(f"| {tool} |" + " n/a |" * (4 + len(columns)))
            continue
        eps = epochs_of[tool]
        by_round = {}
        for e in eps:
            by_round.setdefault(e.get("round", 1), []).append(f"{e['train_seconds']:.2f}")
        each = "; ".join(", ".join(v) for _, v in sorted(by_round.items()))
        fin = final.get(tool, {})
        tests = "".join(f"{_fmt(fin.get(k), digits)} | " for k in columns)
        print(f"| {tool} | {median_s(tool):.2f} | {each} | {_fmt(eps[-1]['train_loss'], digits)} | {tests}"
              f"{ratio if tool == 'aekit' else '1 (reference)'} |")

    if m.get("elbo_parts") or m.get("matmul_layers") or m.get("epoch"):
        print()
    if m.get("elbo_parts"):
        for tool in TOOLS:
            fin = final.get(tool)
            if not fin:
                continue
            parts = f"reconstruction {_fmt(fin.get('test_reconstruction'), digits)} (z sampled)"
            if fin.get("test_reconstruction_mean_z") is not None:
                parts += f", {_fmt(fin['test_reconstruction_mean_z'], digits)} (z = mean)"
            print(f"- {tool} test -ELBO parts (last round): {parts}, KL {_fmt(fin.get('test_kl'), digits)}")
    if m.get("matmul_layers"):
        # Matrix-multiply work of one training epoch, counted from the model: forward 2·Σ(in·out)
        # per sample, the same again for the weight gradients, and the input gradients of every
        # layer but the first (whose input is the data). Elementwise work is not counted.
        layers = m["matmul_layers"]
        fwd = 2 * sum(i * o for i, o in layers)
        per_sample = 2 * fwd + 2 * sum(i * o for i, o in layers[1:])
        epoch_gflop = per_sample * int(n_train) / 1e9
        for tool in TOOLS:
            if tool in epochs_of:
                peak = gemm.get(tool)
                line = f"- {tool}: {epoch_gflop / median_s(tool):.1f} GFLOP/s over the median epoch ({epoch_gflop:.1f} GFLOP of matrix products)"
                if peak:
                    line += (f"; its own 1024^3 f32 matmul peaks at {peak['gflops']:.1f} GFLOP/s on {threads} threads "
                             f"(median {peak['median_s'] * 1000:.1f} ms), so the epoch runs at "
                             f"{100 * epoch_gflop / median_s(tool) / peak['gflops']:.0f}% of it")
                print(line)
    for key in m.get("epoch", {}):
        for tool in TOOLS:
            eps = epochs_of.get(tool, [])
            last = [e.get(key) for e in eps if e.get("round") == eps[-1].get("round")] if eps else []
            if any(v is not None for v in last):
                print(f"- {tool} {LABELS[key]} after each epoch (last round): " + ", ".join(_fmt(v, 2) for v in last))


if __name__ == "__main__":
    commands = {"aekit": (aekit, 3), "tag": (tag, 1), "report": (report, 15)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) - 2 != commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    fn, _ = commands[sys.argv[1]]
    fn(*sys.argv[2:])
