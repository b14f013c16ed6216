"""Markdown table of the photo restoration benchmark's results (JSON lines of rivals.py,
torch_rivals.py and metrics.py), then the {"kind": "load"} contention lines of run.sh, if any.

    python report.py RESULTS.jsonl...

Columns: method, task, PSNR on RGB (dB, pixels in [0, 1]), PSNR on the BT.601 luma with `scale`
pixels shaved (SR only), SSIM on RGB, training seconds (wall, learnt methods) and restoring
seconds (wall, all test photos). Means over the test photos.
"""
import json
import sys

TASKS = ["denoise-sigma25", "superres-x2", "superres-x4"]


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main(files):
    rows, loads = [], []
    for f in files:
        for line in open(f):
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("kind") == "load":
                loads.append(r)
            if "kind" in r or "method" not in r:
                continue
            rows.append(r)
    rows.sort(key=lambda r: (TASKS.index(r["task"]) if r["task"] in TASKS else len(TASKS), r["task"],
                             -r["psnr_rgb"]))
    print("| method | task | PSNR RGB (dB) | PSNR Y (dB) | SSIM | train s | restore s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        epochs = f" ({r['epochs']} ep)" if "epochs" in r else ""
        print(f"| {r['method']} | {r['task']} | {r['psnr_rgb']:.2f} | {fmt(r.get('psnr_y'), '.2f')} | "
              f"{r['ssim']:.4f} | {fmt(r.get('train_seconds'), '.0f')}{epochs} | {fmt(r.get('seconds'), '.1f')} |")
    if loads:
        print()
        print("Contention (CPU seconds other processes took while each training ran; steal: the hypervisor's):")
        for r in loads:
            print(f"  {r['tool']}: wall {r['wall_s']:.0f} s, own CPU {r['own_cpu_s']:.0f} s, "
                  f"others {r['other_cpu_s']:.0f} s, steal {r['steal_s']:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
