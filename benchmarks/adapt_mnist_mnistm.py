"""Benchmark: MNIST -> MNIST-M with `advlab adapt` at its default settings.

1. Accuracy: source_only and dann, 3 seeds each, final epoch (no target label picks
   anything). Runs go `--jobs` at a time in separate processes, one thread each.
2. Throughput: the dann training step as advlab runs it (uint8 tensors in memory, batches
   by indexing) against a straightforward reference loop that feeds the same model
   through a per-sample Dataset + DataLoader, both on all cores, in this same run; and
   the time of one full dann epoch.

Writes benchmarks/results/adapt_mnist_mnistm.json and .md.

    python benchmarks/adapt_mnist_mnistm.py            # about 60 minutes on 2 cores
    python benchmarks/adapt_mnist_mnistm.py --epochs 1 --seeds 0 --throughput-steps 20   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F

from advlab.backbones.ganin import GaninNet
from advlab.data.domains import load_domain
from advlab.methods import METHODS, Batch, StepInfo
from advlab.nn.heads import DomainDiscriminator
from advlab.runs.sampling import IndexStream
from advlab.train.config import AdaptConfig
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
PUBLISHED = {
    "source_only": {"icml_jmlr": 0.5225, "arxiv_v1": 0.5749},
    "dann": {"icml_jmlr": 0.7666, "arxiv_v1": 0.8149},
}


def run_one(method: str, seed: int, epochs: int | None, out_root: Path) -> dict:
    out = out_root / f"{method}-s{seed}"
    summary = out / "summary.json"
    if summary.exists():
        return json.loads(summary.read_text())
    cmd = [
        sys.executable,
        "-m",
        "advlab.cli",
        "adapt",
        "--method",
        method,
        "--seed",
        str(seed),
        "--threads",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    if epochs:
        cmd += ["--epochs", str(epochs)]
    if (out / "last.pt").exists():
        cmd.append("--resume")
    log = open(out_root / f"{method}-s{seed}.log", "w")
    subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    return json.loads(summary.read_text())


class PerSampleDataset(torch.utils.data.Dataset):
    """How most public reproductions feed images: one sample at a time, transformed in Python."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int):
        image = self.x[i].float() / 255.0
        if image.shape[0] == 1:
            image = image.repeat(3, 1, 1)
        image = (image - image.mean()) / image.std().clamp_min(1e-3)
        return image, self.y[i]


def reference_step_rate(model: GaninNet, source, target, batch_size: int, steps: int) -> float:
    """Images per second of the textbook loop: two DataLoaders (shuffle, per-sample __getitem__),
    the float images through G_f, the same losses and optimiser as advlab's dann."""
    loaders = [
        torch.utils.data.DataLoader(PerSampleDataset(d.x, d.y), batch_size=batch_size, shuffle=True, drop_last=True)
        for d in (source, target)
    ]
    discriminator = DomainDiscriminator(model.feature_dim)
    optimizer = torch.optim.SGD([*model.parameters(), *discriminator.parameters()], lr=0.01, momentum=0.9)
    grl = METHODS["dann"].feature_grad_sign
    from advlab.nn import scale_grad

    def steps_iter():
        while True:
            yield from zip(*loaders)

    started, done = None, 0
    for step, ((xs, ys), (xt, _)) in enumerate(steps_iter()):
        if step == 5:
            started = time.perf_counter()  # after warm-up
        features = model.features(torch.cat([xs, xt]))
        cls = F.cross_entropy(model.classifier(features[: len(xs)]), ys)
        dom = F.binary_cross_entropy_with_logits(
            discriminator(scale_grad(features, grl)).squeeze(1), torch.cat([torch.zeros(len(xs)), torch.ones(len(xt))])
        )
        optimizer.zero_grad()
        (cls + dom).backward()
        optimizer.step()
        if started is not None:
            done += len(xs) + len(xt)
        if step == steps + 5:
            break
    return done / (time.perf_counter() - started)


def advlab_step_rate(model: GaninNet, source, target, batch_size: int, steps: int) -> tuple[float, float]:
    """Images per second of advlab's own dann step over `steps` steps, and the seconds of a full
    epoch (one pass over the source training set) at that rate, measured, not extrapolated,
    when `steps` covers the epoch."""
    method = METHODS["dann"](model, AdaptConfig())
    optimizers = method.optimizers(lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9))
    streams = IndexStream(len(source.y), batch_size, 1), IndexStream(len(target.y), batch_size, 2)
    started, done = None, 0
    for step in range(steps + 5):
        if step == 5:
            started = time.perf_counter()
        si, ti = streams[0].indices(step), streams[1].indices(step)
        method.train_step(Batch(source.x[si], source.y[si], target.x[ti], None), StepInfo(1.0, 0), optimizers)
        if started is not None:
            done += 2 * batch_size
    seconds = time.perf_counter() - started
    return done / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=None, help="default: advlab's default")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--throughput-steps", type=int, default=200, help="steps timed for each loop")
    parser.add_argument("--runs", type=Path, default=Path("runs/benchmark-adapt"), help="where run directories go")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "adapt_mnist_mnistm")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    defaults = AdaptConfig()
    started = time.time()

    # 1. throughput, first, on an otherwise idle machine and all cores
    source = load_domain("mnist").train
    target = load_domain("mnist_m").train
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    ref_rate = reference_step_rate(
        GaninNet(normalization=defaults.normalization), source, target, defaults.batch_size, args.throughput_steps
    )
    torch.manual_seed(0)
    epoch_steps = len(source.y) // defaults.batch_size
    ours_rate, epoch_seconds = advlab_step_rate(
        GaninNet(normalization=defaults.normalization), source, target, defaults.batch_size, epoch_steps
    )
    throughput = {
        "threads": torch.get_num_threads(),
        "batch_size_per_domain": defaults.batch_size,
        "reference_images_per_second": ref_rate,
        "advlab_images_per_second": ours_rate,
        "speedup": ours_rate / ref_rate,
        "dann_epoch_seconds": epoch_seconds,
        "dann_epoch_images": 2 * epoch_steps * defaults.batch_size,
    }
    print(json.dumps(throughput, indent=2), flush=True)

    # 2. accuracy over seeds
    jobs = [(m, s) for s in args.seeds for m in ("dann", "source_only")]
    with ThreadPoolExecutor(args.jobs) as pool:
        summaries = list(pool.map(lambda job: run_one(job[0], job[1], args.epochs, args.runs), jobs))
    results = {}
    for method in ("source_only", "dann"):
        runs = [s for s in summaries if s["method"] == method]
        results[method] = {
            "target_acc": mean_std([r["target_acc"] for r in runs]),
            "source_acc": mean_std([r["source_acc"] for r in runs]),
            "domain_acc": mean_std([r["domain_acc"] for r in runs]) if runs[0]["domain_acc"] is not None else None,
            "seconds": mean_std([r["seconds"] for r in runs]),
            "epochs": runs[0]["epochs"],
            "seeds": [r["seed"] for r in runs],
            "published": PUBLISHED[method],
        }
    report = {
        "benchmark": "adapt_mnist_mnistm",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/adapt_mnist_mnistm.py " + " ".join(sys.argv[1:]),
        "config": {k: v for k, v in vars(defaults).items() if k not in ("out", "seed")}
        | ({"epochs": args.epochs} if args.epochs else {}),
        "reported_epoch": "final",
        "machine": machine(),
        "accuracy_runs": f"{len(jobs)} runs, {args.jobs} at a time, 1 thread each",
        "results": results,
        "throughput": throughput,
        "wall_seconds": time.time() - started,
    }
    write_report(report, args.out, markdown)


def markdown(r: dict) -> str:
    def ms(d, digits=4):
        return f"{d['mean']:.{digits}f} ± {d['std']:.{digits}f}"

    res, t = r["results"], r["throughput"]
    lines = [
        "# MNIST → MNIST-M, `advlab adapt` defaults",
        "",
        f"{r['date']} · `{r['command']}` · {r['machine']['cpu_count']} CPU cores, torch {r['machine']['torch']} · "
        f"{res['dann']['epochs']} epochs, seeds {res['dann']['seeds']}, final-epoch accuracy (mean ± std)",
        "",
        "| method | target acc | source acc | domain-classifier acc | published target (ICML/JMLR · arXiv v1) |",
        "|---|---|---|---|---|",
    ]
    for m in ("source_only", "dann"):
        d = res[m]
        dom = ms(d["domain_acc"], 3) if d["domain_acc"] else "–"
        lines.append(
            f"| `{m}` | {ms(d['target_acc'])} | {ms(d['source_acc'])} | {dom} | {d['published']['icml_jmlr']} · "
            f"{d['published']['arxiv_v1']} |"
        )
    lines += [
        "",
        f"Throughput of the `dann` step ({t['threads']} threads, {t['batch_size_per_domain']} source + "
        f"{t['batch_size_per_domain']} target images per step):",
        "",
        "| loop | images / s |",
        "|---|---|",
        f"| per-sample `Dataset` + `DataLoader` (reference) | {t['reference_images_per_second']:.0f} |",
        f"| advlab (uint8 tensors, batches by indexing) | {t['advlab_images_per_second']:.0f} |",
        "",
        f"Speed-up {t['speedup']:.2f}×; one full `dann` epoch ({t['dann_epoch_images']} images) took "
        f"{t['dann_epoch_seconds']:.1f} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
