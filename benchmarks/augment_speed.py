"""Benchmark: advlab's weak and strong views (torch only) against kornia's on the same batches.

Issue 23 asks to evaluate kornia (PyPI, maintained, GPU-ready) against a small torch-only
module for the views of consistency methods. Both get the same uint8 batch (a training
step's 64 target images, 3 x 32 x 32, and 28 x 28 grey), and each view is timed from uint8
in to uint8 out (kornia works on floats: the conversion is part of its time), the median
over rounds that alternate the two, in one process and thread count. kornia's counterparts:
weak = RandomAffine (translation +-2 px, a small shear and scale) + RandomGaussianNoise; strong
= RandAugment (n=2) + RandomErasing. Also recorded: whether each is reproducible from a
generator passed to it (advlab: yes, by construction; kornia draws from torch's global
generator). Writes benchmarks/results/augment_speed.{json,md}.

    pip install kornia && python benchmarks/augment_speed.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from common import machine, write_report

HERE = Path(__file__).resolve().parent


def kornia_views():
    import kornia.augmentation as K
    from kornia.augmentation.auto import RandAugment

    weak = K.AugmentationSequential(
        K.RandomAffine(degrees=0.0, translate=(2 / 32, 2 / 32), scale=(0.9, 1.1), shear=5.0, p=1.0),
        K.RandomGaussianNoise(std=0.03, p=1.0),
    )
    strong = K.AugmentationSequential(RandAugment(n=2, m=10), K.RandomErasing(scale=(0.02, 0.25), p=1.0))

    def wrap(aug):
        def view(x: torch.Tensor) -> torch.Tensor:
            out = aug(x.float() / 255)
            return out.mul(255).round().clamp(0, 255).to(torch.uint8)

        return view

    return wrap(weak), wrap(strong)


def median_ms(fn, x: torch.Tensor, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "augment_speed")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import kornia

    from advlab.data.augment import strong, weak

    k_weak, k_strong = kornia_views()
    rows = []
    for shape in ((64, 3, 32, 32), (64, 1, 28, 28)):
        x = torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        ours = {
            "weak": lambda b: weak(b, torch.Generator().manual_seed(1)),
            "strong": lambda b: strong(b, torch.Generator().manual_seed(1)),
        }
        theirs = {"weak": k_weak, "strong": k_strong}
        for kind in ("weak", "strong"):
            for fn in (ours[kind], theirs[kind]):  # warm-up
                fn(x)
            a, b = [], []
            for _ in range(args.rounds):  # alternating, so that the machine's state hits both alike
                a.append(median_ms(ours[kind], x, 1))
                b.append(median_ms(theirs[kind], x, 1))
            torch.manual_seed(0)
            first = theirs[kind](x)
            torch.manual_seed(0)
            again = theirs[kind](x)
            rows.append(
                {
                    "batch": list(shape),
                    "view": kind,
                    "advlab_ms": statistics.median(a),
                    "kornia_ms": statistics.median(b),
                    "kornia_over_advlab": statistics.median(b) / statistics.median(a),
                    "kornia_same_under_same_global_seed": bool(torch.equal(first, again)),
                }
            )
    report = {
        "benchmark": "augment_speed",
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "kornia": kornia.__version__,
        "threads": args.threads,
        "rounds": args.rounds,
        "machine": machine(),
        "results": rows,
    }
    write_report(report, args.out, markdown)


def markdown(report: dict) -> str:
    lines = [
        "# Views of a batch: advlab's torch-only module against kornia",
        "",
        f"kornia {report['kornia']}, {report['threads']} threads, median of {report['rounds']} alternating rounds, "
        f"uint8 in and out, on {report['machine'].get('processor') or 'this machine'}. advlab's views take a "
        "torch.Generator and are reproducible from it alone; kornia's draw from torch's global generator (the last "
        "column: the same output after the same torch.manual_seed). Written by benchmarks/augment_speed.py.",
        "",
        "| batch | view | advlab ms | kornia ms | kornia / advlab | kornia reproducible by global seed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["results"]:
        lines.append(
            f"| {' x '.join(map(str, r['batch']))} | {r['view']} | {r['advlab_ms']:.2f} | {r['kornia_ms']:.2f} | "
            f"{r['kornia_over_advlab']:.2f} | {r['kornia_same_under_same_global_seed']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
