#!/usr/bin/env bash
# On a machine with a CUDA GPU: time one `dann` epoch and one cDCGAN epoch over all
# images, fp32 and bf16, and the quick study (`advlab reproduce --profile quick --device
# cuda`, 4 runs at a time sharing the GPU), with the real commands, and write
# benchmarks/results/gpu.{json,md}.
# Needs the data (ADVLAB_DATA) and advlab installed with a CUDA build of torch.
#   bash benchmarks/gpu.sh            # about 5 minutes on one recent GPU (estimate, not yet measured)
set -euo pipefail
cd "$(dirname "$0")/.."
python - <<'EOF'
import torch, sys
if not torch.cuda.is_available():
    sys.exit("benchmarks/gpu.sh: no CUDA device here (torch.cuda.is_available() is False)")
EOF
RUNS=$(mktemp -d)/gpu-runs
mkdir -p "$RUNS" benchmarks/results
for precision in fp32 bf16; do
  advlab adapt --method dann --device cuda --precision "$precision" --epochs 2 --quiet --out "$RUNS/dann-$precision"
  advlab gan --conditional --device cuda --precision "$precision" --epochs 2 --eval-samples 10000 --quiet --out "$RUNS/gan-$precision"
done
advlab reproduce --profile quick --device cuda --jobs 4 --quiet --out "$RUNS/quick"
# the backbone too slow for 3 seeds on 2 cores (dirtt_small, ~28x ganin's FLOPs) beside ganin, seeds 0-2,
# the CPU benchmark's budget: benchmarks/results/backbones_gpu.{json,md}
python benchmarks/backbones.py --device cuda --backbones ganin dirtt_small --runs "$RUNS/backbones" \
  --out benchmarks/results/backbones_gpu
RUNS="$RUNS" python - <<'EOF'
import json, os, platform
from datetime import datetime, timezone
from pathlib import Path
import torch

runs = Path(os.environ["RUNS"])
rows = {}
for p in ("fp32", "bf16"):
    adapt = [json.loads(l) for l in (runs / f"dann-{p}" / "metrics.jsonl").read_text().splitlines()]
    gan = json.loads((runs / f"gan-{p}" / "summary.json").read_text())
    rows[p] = {"dann_epoch_seconds": adapt[-1]["train_seconds"],  # the second epoch: warm caches
               "dann_target_acc_2_epochs": adapt[-1]["target_acc"],
               "cdcgan_epoch_seconds": gan["seconds_per_epoch"], "cdcgan_cond_acc_2_epochs": gan.get("cond_acc"),
               "cdcgan_fid_lenet_2_epochs": gan.get("fid_lenet")}
timing = json.loads((runs / "quick" / "timing.json").read_text())
quick = {"wall_minutes": round(sum(i["seconds"] for i in timing["invocations"]) / 60, 2), "runs": len(timing["runs"]),
         "failed": sum(r["status"] != "done" for r in timing["runs"])}
report = {"benchmark": "gpu", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
          "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "host": platform.processor(), "results": rows,
          "quick_study": quick}
Path("benchmarks/results/gpu.json").write_text(json.dumps(report, indent=2) + "\n")
lines = ["# advlab on a GPU", "", f"{report['gpu']}, torch {report['torch']}, {report['date']}.", "",
         "| precision | dann epoch (s) | dann target acc (2 epochs) | cDCGAN epoch (s) | cond_acc / fid_lenet (2 epochs) |", "|---|---|---|---|---|"]
for p, r in rows.items():
    lines.append(f"| {p} | {r['dann_epoch_seconds']:.1f} | {r['dann_target_acc_2_epochs']:.4f} | {r['cdcgan_epoch_seconds']:.1f} | "
                 f"{r['cdcgan_cond_acc_2_epochs']} / {r['cdcgan_fid_lenet_2_epochs']} |")
lines += ["", f"Quick study (`advlab reproduce --profile quick --device cuda --jobs 4`): {quick['wall_minutes']} min wall, "
          f"{quick['runs']} runs, {quick['failed']} not done."]
Path("benchmarks/results/gpu.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
