"""Benchmark: bf16 autocast against fp32 on this machine's CPU, speed and accuracy.

Speed: the real training step of `dann` (64 + 64 images) and of the cDCGAN (64 images),
each precision timed in one process, interleaved round by round so that drift of the
machine's speed hits both alike; one thread; median of the rounds. Accuracy: short real
runs at both precisions, seeds 0-2 (`advlab adapt --method dann` and `advlab gan`, reduced
budgets stated in the results). Which path `auto` takes here is read from /proc/cpuinfo.
Writes benchmarks/results/precision.{json,md}.

    python benchmarks/precision.py                 # speed + accuracy
    python benchmarks/precision.py --speed-only
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from advlab.runs.hardware import BF16_CPU_FLAGS, autocast, cpu_flags, resolve_precision
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
ADAPT = ("--method", "dann", "--train-subset", "20000", "--epochs", "3")
GAN = ("--conditional", "--train-subset", "20000", "--epochs", "2", "--eval-samples", "5000")


def step_timing(rounds: int = 7, steps: int = 15) -> dict:
    from advlab.backbones.ganin import GaninNet
    from advlab.gan.config import GanConfig
    from advlab.gan.games import GAMES, Players
    from advlab.gan.train import build_models
    from advlab.methods import METHODS, Batch, StepInfo
    from advlab.train.config import AdaptConfig

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    batch = Batch(
        torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g),
        torch.randint(0, 10, (64,), generator=g),
        torch.randint(0, 256, (64, 3, 28, 28), dtype=torch.uint8, generator=g),
        None,
    )
    torch.manual_seed(0)
    method = METHODS["dann"](GaninNet(10, "per_image"), AdaptConfig(method="dann"))
    optimizers = method.optimizers(lambda params: torch.optim.SGD(params, lr=0.001, momentum=0.9))
    gen, disc = build_models(GanConfig(), 10, 1)
    opt_g, opt_d = (torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)) for m in (gen, disc))
    real, y = torch.rand(64, 1, 28, 28) * 2 - 1, torch.randint(0, 10, (64,))
    game, players = GAMES["ns"](), Players(gen, disc, opt_g, opt_d, 10)

    def dann_step() -> None:
        method.train_step(batch, StepInfo(0.5, 0), optimizers)

    def gan_step() -> None:  # the game's two steps, as the trainer plays them
        fake = gen(torch.randn(64, 100), y)
        game.d_step(players, real, y, fake, g)
        game.g_step(players, fake, y)

    cpu = torch.device("cpu")
    times = {(name, p): [] for name in ("dann", "cdcgan") for p in ("fp32", "bf16")}
    for _ in range(rounds):
        for (name, p), out in times.items():
            fn = dann_step if name == "dann" else gan_step
            with autocast(p, cpu):
                fn()  # warm-up
                started = time.perf_counter()
                for _ in range(steps):
                    fn()
            out.append((time.perf_counter() - started) / steps * 1000)
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {
        name: {
            "fp32_ms": round(medians[(name, "fp32")], 2),
            "bf16_ms": round(medians[(name, "bf16")], 2),
            "bf16_speedup": round(medians[(name, "fp32")] / medians[(name, "bf16")], 3),
        }
        for name in ("dann", "cdcgan")
    }


def accuracy_runs(runs: Path, seeds: list[int]) -> dict:
    out: dict = {"adapt": {}, "gan": {}}
    for kind, args in (("adapt", ADAPT), ("gan", GAN)):
        for p in ("fp32", "bf16"):
            summaries = []
            for seed in seeds:
                run = runs / f"{kind}-{p}-s{seed}"
                if not (run / "summary.json").exists():
                    cmd = [
                        sys.executable,
                        "-m",
                        "advlab.cli",
                        kind,
                        *args,
                        "--precision",
                        p,
                        "--seed",
                        str(seed),
                        "--threads",
                        "1",
                        "--quiet",
                        "--out",
                        str(run),
                    ] + (["--resume"] if run.exists() else [])
                    with open(runs / f"{kind}-{p}-s{seed}.log", "a") as log:
                        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
                summaries.append(json.loads((run / "summary.json").read_text()))
            keys = ("target_acc", "source_acc") if kind == "adapt" else ("cond_acc", "fid_lenet")
            out[kind][p] = {k: mean_std([s[k] for s in summaries]) for k in keys}
            out[kind][p]["seconds_per_epoch"] = mean_std(
                [s.get("seconds_per_epoch") or s["seconds"] / s["epochs"] for s in summaries]
            )
    return out


def markdown(report: dict) -> str:
    lines = [
        "# bf16 autocast against fp32 (CPU)",
        "",
        f"CPU flags for native bf16 ({', '.join(BF16_CPU_FLAGS)}): {report['native_bf16_flags'] or 'none'}; "
        f"`--precision auto` runs **{report['auto_resolves_to']}** here.",
        "",
        "Training step, one thread, both precisions interleaved in one process, median of 7 rounds:",
        "",
        "| step | fp32 ms | bf16 ms | bf16 speed-up |",
        "|---|---|---|---|",
    ]
    for name, t in report["step_timing"].items():
        lines.append(f"| {name} | {t['fp32_ms']:.1f} | {t['bf16_ms']:.1f} | {t['bf16_speedup']:.2f}× |")
    if report.get("accuracy"):
        a = report["accuracy"]
        lines += [
            "",
            f"Accuracy at reduced budgets, seeds {report['seeds']}, final epoch: `advlab adapt {' '.join(ADAPT)}` and "
            f"`advlab gan {' '.join(GAN)}`:",
            "",
            "| run | precision | metric | value |",
            "|---|---|---|---|",
        ]
        for kind, metric in (
            ("adapt", "target_acc"),
            ("adapt", "source_acc"),
            ("gan", "cond_acc"),
            ("gan", "fid_lenet"),
        ):
            for p in ("fp32", "bf16"):
                r = a[kind][p]
                lines.append(f"| {kind} | {p} | {metric} | {r[metric]['mean']:.4f} ± {r[metric]['std']:.4f} |")
        lines += [
            "",
            "The runs' own epoch times are in the JSON but are not a speed comparison: they ran one after another "
            "beside other work; the step timing above is.",
        ]
    m = report["machine"]
    lines += ["", f"{m['processor']}, {m['cpu_count']} cores, torch {m['torch']}; {report['date']}.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=HERE / "runs" / "precision")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "precision")
    args = parser.parse_args()
    flags = cpu_flags()
    report = {
        "benchmark": "precision",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "native_bf16_flags": sorted(set(BF16_CPU_FLAGS) & flags),
        "auto_resolves_to": resolve_precision("auto", torch.device("cpu")),
        "seeds": args.seeds,
        "step_timing": step_timing(),
    }
    if not args.speed_only:
        args.runs.mkdir(parents=True, exist_ok=True)
        report["accuracy"] = accuracy_runs(args.runs, args.seeds)
    elif args.out.with_suffix(".json").exists():  # re-time on an idle machine, keep the accuracy runs' results
        previous = json.loads(args.out.with_suffix(".json").read_text())
        report |= {k: previous[k] for k in ("accuracy", "seeds") if k in previous}
    write_report(report, args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
