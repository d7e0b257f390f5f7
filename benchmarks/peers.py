"""Benchmark: advlab's DANN against the same DANN in a public toolkit (pytorch-adapt), same machine.

Issue 26 asks how advlab's epoch compares with what one gets from a public toolkit for the
same training: Ganin's MNIST network, 64 source + 64 target images a step, SGD (momentum
0.9) at 0.01 / (1 + 10 p)^0.75, the reversal factor 2 / (1 + exp(-10 p)) - 1, MNIST ->
MNIST-M. Its target: advlab's epoch at least 8x faster than the peer's, with equal or better
accuracy. This script measures it and reports whatever it is.

- advlab: the real `python -m advlab.cli adapt --method dann` (its defaults are that setting),
  epoch time the `train_seconds` of its metrics.jsonl (the loop over the epoch's steps,
  evaluation excluded).
- the peer: pytorch-adapt from PyPI in its own venv (its torchvision cannot be imported beside
  this machine's torch), made by this script if missing; its `DANNHook` driven by
  benchmarks/peer_pytorch_adapt.py, which that venv's python runs. Nothing of pytorch-adapt is
  copied here: it is installed and called.

Both sides train on identical inputs: for each round's seed the script exports from advlab an
.npz with the images of advlab's run (its source training split after the held-out validation
images, the subset, MNIST grey as stored, MNIST-M centre-cropped to 28 x 28), the batch indices
advlab's index streams draw step by step, which source images its `--augment invert` turns
negative at each step, and advlab's initial weights of that seed. Runs go one at a time,
alternating (advlab, peer, advlab, peer, ...) with the same threads, so drift of the machine
hits both. The result is the ratio of epoch times, peer / advlab, with both final-epoch target
accuracies (the same MNIST-M test images) beside it. Every way in which the two DANNs still
differ is listed in the results. Writes benchmarks/results/peers.{json,md}.

    python benchmarks/peers.py                      # 3 rounds, 2 epochs, 10000 images/domain: on an idle machine
    python benchmarks/peers.py --rounds 1 --epochs 1 --train-subset 500 --test-subset 500 --threads 1 \\
        --out /tmp/peers                            # smoke
    python benchmarks/peers.py --table-only         # rebuild the tables from the finished rounds kept here

Finished rounds are kept under --runs (one folder per budget) and reused, an unfinished advlab
run resumed; the venv is reused once it imports pytorch-adapt.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from advlab.metrics.spread import fmt
from common import machine, mean_std, write_report

HERE = Path(__file__).resolve().parent
WORKER = HERE / "peer_pytorch_adapt.py"
PEER = "pytorch-adapt"
PEER_VERSION = "0.0.83"
# torch and torchvision as this workplace's disk holds them (a CUDA build; it runs on the CPU);
# torchmetrics 0.9.3, which pytorch-adapt pins, imports pkg_resources, gone from setuptools 81 on
PEER_REQUIREMENTS = ("torch==2.14.1", "torchvision==0.29.1", f"{PEER}=={PEER_VERSION}", "setuptools<81")
BATCH = 64  # advlab adapt's default batch per domain, and Ganin's
TARGET_RATIO = 8.0  # issue 26: advlab's epoch at least this many times faster
# accuracies are counts over the same test images; advlab reports them through a float32 mean
SAME_ACCURACY = 1e-6
# the lines of torch.__config__.parallel_info() that name the kernels' libraries (as in the worker)
LIBRARIES = ("Math Kernel Library", "MKL-DNN", "OpenBLAS")

# What the two runs do differently, or do alike only because the peer was set so (its defaults
# are said too); the markdown lists them all.
SET_EQUAL = [
    "Loss weighting: `DANNHook`'s default `MeanWeighter` takes the mean of its three losses, "
    "(CE + BCE_source + BCE_target) / 3; it is given `SumWeighter(weights={src_c_loss: 1, src_domain_loss: 0.5, "
    "target_domain_loss: 0.5})`, which is advlab's CE + BCE over all 64 + 64 domain logits, exactly.",
    "Reversal factor: `DANNHook` has a fixed `gradient_reversal_weight` (default 1); the worker passes its own "
    "`GradientReversalHook` and sets its layer's weight (`update_weight`) to λ(p) = 2/(1+exp(-10p)) − 1 before "
    "every step, advlab's ramp with p = step / total steps. As in advlab, D gets the plain gradient and G the "
    "reversed one.",
    "Learning rate: the hook has no schedule (pytorch-adapt's framework would add a torch scheduler); the worker "
    "sets every optimizer's rate to 0.01 / (1 + 10p)^0.75 before every step, as advlab does.",
    "Optimizers: one SGD (momentum 0.9, no weight decay) per model, G, C and D, pytorch-adapt's idiom, against "
    "advlab's one SGD over all parameters: plain SGD updates each parameter alike either way.",
    "Network: Ganin's (G: conv5×5 32, max-pool, ReLU, conv5×5 48, max-pool, ReLU, 768 features; C: "
    "768→100→100→10; D: 768→100→1), written in the worker in advlab's layer order. "
    "`pytorch_adapt.models.MNISTFeatures` is the same G with each ReLU before its pooling (the same function, "
    "four times the ReLU work) and its `Classifier` and `Discriminator` are wider MLPs with dropout, so none is used.",
    "Initial weights: advlab's for the round's seed, exported and loaded into G, C and D parameter by parameter.",
    "Input: advlab's default `--normalization per_image` (each image standardised over its pixels and channels, "
    "MNIST's grey expanded to three equal channels), written in the worker as the first module of G, so that both "
    "sides time it inside the step.",
    "Data: the same uint8 images (advlab's source training split after its 1000 held-out validation images, then "
    "the subset; MNIST-M centre-cropped to 28×28), the same batch indices step by step, and the same source images "
    "inverted (advlab's default `--augment invert`), all exported from advlab; final-epoch accuracy on the same "
    "test images.",
]
DIFFERENCES = [
    "torch build: advlab runs on this machine's torch, the peer on the torch its venv installs (pytorch-adapt needs "
    "torchvision, which cannot be imported beside this machine's torch); both versions and their MKL / oneDNN "
    "lines are under Software and machine below.",
    "Forward passes: the hook runs G on the source and on the target batch separately and D once per domain; "
    "advlab runs G and D once on the 128 concatenated images. The same arithmetic for this network (no batch "
    "statistics), in more and smaller kernels.",
    "Data feeding: both index uint8 tensors in memory. The peer is driven through its hook alone, the lightest way "
    "to run it; pytorch-adapt's usual path (its datasets, per-sample DataLoaders and Ignite-based framework) would "
    "add its own cost, which is not measured here.",
    "What each timed epoch holds besides the step: advlab's trainer seeds a generator per step (for the inversion "
    "and the model's randomness) and reads each loss once (`.item()`); the worker indexes the exported batch, "
    "inverts the exported images and sets the schedules, and the hook reads each loss (`.item()`) and checks its "
    "inputs and outputs by name. Evaluation is excluded on both sides.",
    "Evaluation: advlab evaluates every epoch on both test sets, its source validation split and its label-free "
    "validators; the worker on both test sets. Neither is timed; the accuracy compared is the final epoch's on "
    "the same MNIST-M test images.",
]


MEMORY_FORMAT = {
    False: "Memory format: advlab's backbone keeps its weights and activations channels-last; the worker's networks "
    "use PyTorch's default (contiguous NCHW), as a pytorch-adapt user writes them (`--peer-channels-last` changes "
    "that).",
    True: "Memory format: channels-last on both sides (advlab's backbone keeps its weights and activations so; the "
    "worker's G was asked to with `--peer-channels-last`, which a pytorch-adapt user would have to write).",
}


def differences(budget: dict) -> list[str]:
    """DIFFERENCES with the memory format this budget gave the peer."""
    return [*DIFFERENCES[:2], MEMORY_FORMAT[budget["peer_channels_last"]], *DIFFERENCES[2:]]


def peer_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> list[str]:
    """The peer's venv, made with `python -m venv` and pip where it is missing or lacks the peer;
    returns what it holds (`pip freeze`), for the results."""
    python = peer_python(venv)
    probe = [str(python), "-W", "ignore", "-c", "import pytorch_adapt.hooks, torchvision"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        if not python.exists():
            print(f"making the peer's venv in {venv}", flush=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        print(f"installing {' '.join(PEER_REQUIREMENTS)} into {venv} (once; a few GB)", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", *PEER_REQUIREMENTS], check=True)
        if subprocess.run(probe).returncode != 0:
            raise SystemExit(f"peers: {venv} still cannot import pytorch_adapt and torchvision (see above)")
    freeze = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True)
    return freeze.stdout.split()


def run_config(seed: int, args: argparse.Namespace):
    """The AdaptConfig of the round's advlab run, as `advlab adapt` builds it from the command line below."""
    from advlab.train.config import AdaptConfig

    return AdaptConfig(
        method="dann",
        seed=seed,
        epochs=args.epochs,
        threads=args.threads,
        train_subset=args.train_subset or None,
        test_subset=args.test_subset or None,
    )


def export_round(seed: int, args: argparse.Namespace, path: Path) -> None:
    """What the peer needs to train on exactly what advlab's run of this seed trains on: its
    images (advlab's own data layer: `prepare_data`), its batch indices (advlab's IndexStreams, as
    `prepare_batches` seeds them), its inverted source images (advlab's `augment`, applied to a
    zero batch: 255 where it inverts) and its initial weights (built in the order of
    `advlab.train.adapt.start`: the seed, the backbone, then the method's heads)."""
    import numpy as np
    import torch

    from advlab.backbones import BACKBONES
    from advlab.data.augment import augment
    from advlab.methods import METHODS
    from advlab.runs.sampling import IndexStream
    from advlab.train.data import prepare_data

    cfg = run_config(seed, args)
    data = prepare_data(cfg, quiet=True)
    steps = len(data.source_train) // cfg.batch_size
    source = IndexStream(len(data.source_train), cfg.batch_size, cfg.seed * 2 + 1)
    target = IndexStream(len(data.target_train), cfg.batch_size, cfg.seed * 2 + 2)
    zeros = torch.zeros(cfg.batch_size, 1, 1, 1, dtype=torch.uint8)
    total = cfg.epochs * steps
    arrays = {
        "seed": np.array(seed),
        "steps_per_epoch": np.array(steps),
        "source_x": data.source_train.x.numpy(),
        "source_y": data.source_train.y.numpy(),
        "target_x": data.target_train.x.numpy(),  # no target training labels: the peer never needs them
        "source_test_x": data.source_test.x.numpy(),
        "source_test_y": data.source_test.y.numpy(),
        "target_test_x": data.target_test.x.numpy(),
        "target_test_y": data.target_test.y.numpy(),
        "source_idx": torch.stack([source.indices(s) for s in range(total)]).numpy(),
        "target_idx": torch.stack([target.indices(s) for s in range(total)]).numpy(),
        "invert": torch.stack([augment(zeros, cfg.augment, cfg.seed, s).view(-1) == 255 for s in range(total)]).numpy(),
    }
    torch.manual_seed(cfg.seed)
    model = BACKBONES[cfg.backbone].from_config(cfg, data.num_classes)
    method = METHODS[cfg.method](model, cfg)
    for name, module in (("G", model.features), ("C", model.classifier), ("D", method.heads["discriminator"])):
        for i, p in enumerate(module.parameters()):
            arrays[f"{name}.{i}"] = p.detach().contiguous().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def run_advlab(seed: int, args: argparse.Namespace) -> None:
    """The round's `advlab adapt --method dann`, resumed where a run was left unfinished."""
    out = args.runs / f"advlab-s{seed}"
    if (out / "summary.json").exists():
        return
    cmd = [
        sys.executable,
        "-m",
        "advlab.cli",
        "adapt",
        "--method",
        "dann",
        "--seed",
        str(seed),
        "--epochs",
        str(args.epochs),
        "--threads",
        str(args.threads),
        "--device",
        "cpu",
        "--quiet",
        "--out",
        str(out),
    ]
    if args.train_subset:
        cmd += ["--train-subset", str(args.train_subset)]
    if args.test_subset:
        cmd += ["--test-subset", str(args.test_subset)]
    if out.exists():
        cmd.append("--resume")
    started = time.perf_counter()
    with open(args.runs / f"advlab-s{seed}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    said = "done" if result.returncode == 0 else f"FAILED (exit {result.returncode}, see {log.name})"
    print(f"advlab-s{seed}: {said} in {(time.perf_counter() - started) / 60:.1f} min", flush=True)


def run_peer(seed: int, args: argparse.Namespace) -> None:
    """The round's pytorch-adapt run (from its first epoch: the worker keeps no checkpoint)."""
    out = args.runs / f"{PEER}-s{seed}.json"
    if out.exists():
        return
    data = args.runs / f"data-s{seed}.npz"
    if not data.exists():
        export_round(seed, args, data)
    cmd = [
        str(peer_python(args.venv)),
        str(WORKER),
        "--data",
        str(data),
        "--epochs",
        str(args.epochs),
        "--threads",
        str(args.threads),
        "--out",
        str(out),
    ]
    if args.peer_channels_last:
        cmd.append("--channels-last")
    started = time.perf_counter()
    with open(args.runs / f"{PEER}-s{seed}.log", "a") as log:
        result = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    said = "done" if result.returncode == 0 else f"FAILED (exit {result.returncode}, see {log.name})"
    print(f"{PEER}-s{seed}: {said} in {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    if result.returncode == 0:
        finished = json.loads(out.read_text())
        finished["data_sha256"] = fingerprint(data)  # which export it trained on, before the export goes
        out.write_text(json.dumps(finished, indent=2) + "\n")
        data.unlink()  # tens of MB per round, remade in seconds from advlab's data if ever needed


def side(history: list[dict]) -> dict:
    """A finished run as the table reads it: training seconds per epoch (their mean over the run's
    epochs) and the final epoch's accuracies."""
    seconds = [h["train_seconds"] for h in history]
    return {
        "epoch_seconds": sum(seconds) / len(seconds),
        "train_seconds_per_epoch": seconds,
        "target_acc": history[-1]["target_acc"],
        "source_acc": history[-1]["source_acc"],
        "loss_cls_first_epoch": history[0].get("loss_cls"),
        "loss_dom_first_epoch": history[0].get("loss_dom"),
    }


def collect(args: argparse.Namespace) -> list[dict]:
    """The rounds finished on both sides, from this machine's runs of this budget."""
    rounds = []
    for seed in range(args.rounds):
        run = args.runs / f"advlab-s{seed}"
        peer = args.runs / f"{PEER}-s{seed}.json"
        if not (run / "summary.json").exists() or not peer.exists():
            continue
        history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        summary = json.loads((run / "summary.json").read_text())
        result = json.loads(peer.read_text())
        if len(history) != args.epochs or len(result["history"]) != args.epochs:
            continue
        ours, theirs = side(history), side(result["history"])
        rounds.append(
            {
                "seed": seed,
                "advlab": {**ours, "torch": summary["torch"], "threads": summary["threads"]},
                "peer": {
                    **theirs,
                    "torch": result["versions"]["torch_build"],
                    "threads": result["threads"],
                    "versions": result["versions"],
                    "math_libraries": result["math_libraries"],
                    "data_sha256": result.get("data_sha256"),
                },
                "ratio": theirs["epoch_seconds"] / ours["epoch_seconds"],
            }
        )
    return rounds


def summarise(rounds: list[dict]) -> dict:
    def stat(who: str, key: str) -> dict | None:
        return mean_std([r[who][key] for r in rounds])

    out = {who: {k: stat(who, k) for k in ("epoch_seconds", "target_acc", "source_acc")} for who in ("advlab", "peer")}
    ratio = mean_std([r["ratio"] for r in rounds])
    of_means = out["peer"]["epoch_seconds"]["mean"] / out["advlab"]["epoch_seconds"]["mean"]
    accuracy_gap = round(out["advlab"]["target_acc"]["mean"] - out["peer"]["target_acc"]["mean"], 6) + 0.0
    return {
        **out,
        "ratio_peer_over_advlab": ratio,
        "ratio_of_means": of_means,
        "target_acc_advlab_minus_peer": accuracy_gap,
        "issue_target": f"advlab's epoch >= {TARGET_RATIO:g}x faster than the peer's with equal or better accuracy",
        "issue_target_met": ratio["mean"] >= TARGET_RATIO and accuracy_gap >= -SAME_ACCURACY,
        # same initial weights and batches: how far the first epoch's mean losses of the two sides lie apart
        "first_epoch_loss_max_difference": max(
            abs(r["advlab"][k] - r["peer"][k]) for r in rounds for k in ("loss_cls_first_epoch", "loss_dom_first_epoch")
        ),
    }


def math_libraries() -> list[str]:
    import torch

    return [line.strip() for line in torch.__config__.parallel_info().splitlines() if any(k in line for k in LIBRARIES)]


def markdown(report: dict) -> str:
    b, s, m = report["budget"], report["summary"], report["machine"]
    a, p = report["advlab"], report["peer"]
    images = b["train_subset"] or "all"
    seeds = "1 round (seed 0)" if b["rounds"] == 1 else f"{b['rounds']} rounds (seeds 0–{b['rounds'] - 1})"
    lines = [
        "# DANN in advlab and in pytorch-adapt, MNIST → MNIST-M, on one machine",
        "",
        f"The same DANN (Ganin's MNIST network, {b['batch_size']} source + {b['batch_size']} target images a step, "
        "SGD momentum 0.9 at 0.01/(1+10p)^0.75, λ = 2/(1+exp(−10p)) − 1) on the same images, batches and initial "
        f"weights: {seeds} of {b['epochs']} epoch(s) over {images} "
        f"training images per domain, tested on {b['test_subset'] or 'all'} test images; {b['threads']} thread(s) "
        "on both sides, one run at a time, alternating (advlab, peer, advlab, peer, ...). "
        "Epoch time: training seconds per epoch (the loop over the epoch's steps, evaluation excluded): advlab's "
        "`train_seconds` from its metrics.jsonl, the worker's `time.perf_counter()` around the same loop; each "
        "round's is the mean over its epochs. Accuracy: the final epoch's.",
        "",
        f"Rounds finished on both sides: {len(report['rounds'])} of {b['rounds']}.",
        "",
        "| side | toolkit | torch | epoch seconds | target acc | source acc | epoch time vs advlab |",
        "|---|---|---|---|---|---|---|",
        f"| advlab | advlab {a['version']} (`advlab adapt --method dann`) | {a['torch']} | "
        f"{fmt(s['advlab']['epoch_seconds'], 2)} | {fmt(s['advlab']['target_acc'])} | "
        f"{fmt(s['advlab']['source_acc'])} | 1× |",
        f"| peer | {PEER} {p['versions'].get('pytorch-adapt')} (`DANNHook`) | {p['torch']} | "
        f"{fmt(s['peer']['epoch_seconds'], 2)} | {fmt(s['peer']['target_acc'])} | {fmt(s['peer']['source_acc'])} | "
        f"{fmt(s['ratio_peer_over_advlab'], 2)}× |",
        "",
        f"**Result: the peer's epoch takes {s['ratio_peer_over_advlab']['mean']:.2f}× advlab's** (mean ± std of the "
        f"rounds' ratios {fmt(s['ratio_peer_over_advlab'], 2)}; ratio of the mean epoch times "
        f"{s['ratio_of_means']:.2f}×); target accuracy advlab − peer: {s['target_acc_advlab_minus_peer']:+.4f}. "
        f"Issue 26's target ({s['issue_target']}): **{'met' if s['issue_target_met'] else 'not met'}**.",
        "",
        "| round (seed) | advlab epoch s | peer epoch s | peer / advlab | advlab target acc | peer target acc "
        "| first-epoch loss cls / dom, advlab | first-epoch loss cls / dom, peer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rounds"]:
        ours, theirs = r["advlab"], r["peer"]
        lines.append(
            f"| {r['seed']} | {ours['epoch_seconds']:.2f} | {theirs['epoch_seconds']:.2f} | {r['ratio']:.2f}× | "
            f"{ours['target_acc']:.4f} | {theirs['target_acc']:.4f} | "
            f"{ours['loss_cls_first_epoch']:.4f} / {ours['loss_dom_first_epoch']:.4f} | "
            f"{theirs['loss_cls_first_epoch']:.4f} / {theirs['loss_dom_first_epoch']:.4f} |"
        )
    lines += [
        "",
        "Both sides start from the same weights and see the same batches: their first epochs' mean losses lie at "
        f"most {s['first_epoch_loss_max_difference']:.2g} apart (the differences below change the arithmetic only "
        "in rounding).",
        "",
        "## What was set equal",
        "",
        *[f"- {d}" for d in SET_EQUAL],
        "",
        "## What still differs",
        "",
        *[f"- {d}" for d in report["differences"]],
        "",
        "## Software and machine",
        "",
        f"- advlab {a['version']}, torch {a['torch']}, python {m['python']}; {'; '.join(a['math_libraries'])}.",
        f"- peer venv: {', '.join(f'{k} {v}' for k, v in p['versions'].items() if k != 'torch_build')}; "
        f"{'; '.join(p['math_libraries'])}. Installed with `python -m venv` and "
        f"`pip install {' '.join(p['requirements'])}`; its full `pip freeze` is in the JSON.",
        f"- {m['processor']}, {m['cpu_count']} cores. Benchmark wall time "
        f"{sum(i['wall_minutes'] for i in report['invocations']):.1f} min over {len(report['invocations'])} "
        "invocation(s).",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (advlab, peer), seeds 0..N-1 (default 3)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (default 2)")
    parser.add_argument(
        "--train-subset", type=int, default=10000, help="training images per domain; 0: all (default 10000)"
    )
    parser.add_argument("--test-subset", type=int, default=0, help="test images per domain; 0: all (the default)")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="torch threads of each run (default: all cores)"
    )
    parser.add_argument(
        "--peer-channels-last", action="store_true", help="store the peer's G channels-last, as advlab stores its own"
    )
    parser.add_argument(
        "--venv", type=Path, default=HERE / "runs" / "peers-venv", help="the peer's venv (made if missing)"
    )
    parser.add_argument(
        "--runs", type=Path, default=HERE / "runs" / "peers", help="finished rounds, one folder a budget"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "peers", help="results: OUT.json and OUT.md")
    parser.add_argument("--table-only", action="store_true", help="only rebuild the results from the rounds kept here")
    args = parser.parse_args()
    budget = {
        "rounds": args.rounds,
        "epochs": args.epochs,
        "train_subset": args.train_subset,
        "test_subset": args.test_subset,
        "threads": args.threads,
        "batch_size": BATCH,
        "peer_channels_last": args.peer_channels_last,
        "source": "mnist",
        "target": "mnist_m",
    }
    # the rounds of one budget share a folder (any --rounds: round k is seed k in every budget)
    key = f"e{args.epochs}-n{args.train_subset or 'all'}-t{args.test_subset or 'all'}-threads{args.threads}"
    args.runs = args.runs / (key + ("-peer-channels-last" if args.peer_channels_last else ""))
    previous_path = args.out.with_suffix(".json")
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    same_budget = previous.get("budget") == budget

    started = time.perf_counter()
    if not args.table_only:
        args.runs.mkdir(parents=True, exist_ok=True)
        # what the venv holds, kept with the rounds it runs (a later --table-only reports that, not today's venv)
        (args.runs / "peer-venv-freeze.txt").write_text("\n".join(ensure_venv(args.venv)) + "\n")
        for seed in range(args.rounds):
            run_advlab(seed, args)
            run_peer(seed, args)
    wall = (time.perf_counter() - started) / 60

    rounds = collect(args)
    kept = f"; {previous_path} and its .md are left as they are" if previous_path.exists() else ""
    if args.table_only and previous and not same_budget:
        # a rebuild never replaces results of another budget (those committed, say): --out elsewhere for these
        print(f"peers: {previous_path} holds another budget's results{kept} (pass another --out)")
        return 0
    if not rounds or (args.table_only and len(previous.get("rounds", [])) > len(rounds)):
        # results measured elsewhere (or more of them) are never replaced by fewer rounds from here
        print(f"peers: {len(rounds)} round(s) finished on both sides in {args.runs}{kept}")
        return 0 if args.table_only else 1
    freeze = args.runs / "peer-venv-freeze.txt"
    log = args.runs / "invocations.json"  # the measuring invocations of these rounds, kept beside them
    invocations = json.loads(log.read_text()) if log.exists() else []
    if not args.table_only:
        invocations.append(
            {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_minutes": round(wall, 2)}
        )
        log.write_text(json.dumps(invocations, indent=2) + "\n")
    last = rounds[-1]["peer"]
    report = {
        "benchmark": "peers",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "budget": budget,
        "invocations": invocations,
        "machine": machine(),
        "advlab": {
            "version": metadata.version("advlab"),
            "torch": rounds[-1]["advlab"]["torch"],
            "math_libraries": math_libraries(),
            "command": "python -m advlab.cli adapt --method dann --seed SEED --epochs E --threads T --device cpu "
            "--quiet --out DIR [--train-subset N] [--test-subset N]",
        },
        "peer": {
            "toolkit": PEER,
            "torch": last["torch"],
            "versions": last["versions"],
            "math_libraries": last["math_libraries"],
            "requirements": list(PEER_REQUIREMENTS),
            "installed": freeze.read_text().split() if freeze.exists() else None,
            "worker": WORKER.name,
        },
        "rounds": rounds,
        "summary": summarise(rounds),
        "set_equal": SET_EQUAL,
        "differences": differences(budget),
    }
    write_report(report, args.out, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
