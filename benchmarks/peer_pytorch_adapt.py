"""The peer's side of benchmarks/peers.py: DANN in pytorch-adapt, run by that toolkit's own venv.

This file is executed by the venv's python (torch 2.14 and pytorch-adapt from PyPI), never
imported by advlab: it imports numpy, torch and pytorch_adapt only. Everything a user of
pytorch-adapt writes around its DANN is here and nothing more: Ganin's MNIST network (G, C,
D, in the layer order of advlab's `ganin` backbone and `dann` domain classifier, so that both
sides do the same arithmetic), advlab's input stage (per-image standardisation, grey to three
channels), the training loop with Ganin's schedules, and the evaluation. The DANN step itself
is pytorch-adapt's `DANNHook`, called once per batch as its README shows.

What it trains on comes from the .npz that peers.py exported from advlab (`export_round`):
the very images of the advlab run of the same seed, the batch indices advlab's index streams
draw step by step, which source images advlab's `--augment invert` turns negative at each
step, and advlab's initial weights. Both sides therefore start from the same weights and see
the same batches, and what differs is the toolkit (and the torch build), not the data.

    peers-venv/bin/python benchmarks/peer_pytorch_adapt.py --data round.npz --epochs 2 --threads 2 --out r.json

Epoch time: `time.perf_counter()` around the loop over the epoch's steps (batch assembly,
schedule updates, the hook's forward, backward and optimizer steps), evaluation excluded:
the span advlab's trainer times as `train_seconds`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from importlib import metadata

import numpy as np
import torch
from torch import nn

# torchmetrics 0.9.3 (pinned by pytorch-adapt) warns about pkg_resources at import; not ours to fix
warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

from pytorch_adapt.hooks import DANNHook, FeaturesForDomainLossHook  # noqa: E402
from pytorch_adapt.hooks.dann import GradientReversalHook  # noqa: E402
from pytorch_adapt.weighters import SumWeighter  # noqa: E402

LR0, LR_ALPHA, LR_BETA, MOMENTUM, GAMMA = 0.01, 10.0, 0.75, 0.9, 10.0  # advlab adapt's defaults
# DANNHook's loss names -> weights that make its sum advlab's `dann` loss: the source cross-entropy
# plus the binary cross-entropy over all 64 + 64 domain logits, i.e. the mean of the two domains'
# means (the hook's default MeanWeighter would divide the sum of all three losses by 3)
LIBRARIES = ("Math Kernel Library", "MKL-DNN", "OpenBLAS")  # parallel_info()'s lines naming the kernels' libraries
LOSS_WEIGHTS = {"src_c_loss": 1.0, "src_domain_loss": 0.5, "target_domain_loss": 0.5}


class InputStage(nn.Module):
    """advlab's InputNorm("per_image", 3): uint8 -> [0, 1], grey expanded to three equal channels,
    then each image standardised over its pixels and channels (std clamped at 1e-3). Inside G,
    as in advlab, so that it is timed with the step on both sides."""

    def __init__(self, channels_last: bool):
        super().__init__()
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float().div_(255.0)
        if x.shape[1] != 3:
            x = x.expand(-1, 3, -1, -1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        x = (x - mean) / std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def ganin_networks(channels_last: bool) -> dict[str, nn.Module]:
    """G (3x28x28 -> 768), C (768 -> 100 -> 100 -> 10) and D (768 -> 100 -> 1), as advlab's
    GaninNet and DomainDiscriminator((100,)) build them. D returns one logit per image, the shape
    DANNHook's BCE domain loss expects. pytorch_adapt.models.MNISTFeatures is the same G with the
    ReLU before each pooling (the same function, 4x the ReLU work); its Classifier and
    Discriminator are wider MLPs with dropout, not Ganin's, so neither is used."""
    g = nn.Sequential(
        InputStage(channels_last),
        nn.Conv2d(3, 32, kernel_size=5),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Conv2d(32, 48, kernel_size=5),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Flatten(),
    )
    c = nn.Sequential(
        nn.Linear(768, 100), nn.ReLU(inplace=True), nn.Linear(100, 100), nn.ReLU(inplace=True), nn.Linear(100, 10)
    )
    d = nn.Sequential(nn.Linear(768, 100), nn.ReLU(inplace=True), nn.Linear(100, 1), nn.Flatten(start_dim=0))
    if channels_last:
        g.to(memory_format=torch.channels_last)
    return {"G": g, "C": c, "D": d}


def load_initial_weights(models: dict[str, nn.Module], data: dict[str, np.ndarray]) -> None:
    """advlab's initial weights of this seed, parameter by parameter in order (keys "G.0", "G.1", ...)."""
    for name, model in models.items():
        params = list(model.parameters())
        keys = sorted((k for k in data if k.startswith(f"{name}.")), key=lambda k: int(k.split(".")[1]))
        if len(keys) != len(params):
            raise SystemExit(f"{name}: {len(keys)} exported parameters for {len(params)} in the network")
        with torch.no_grad():
            for key, p in zip(keys, params):
                value = torch.from_numpy(data[key])
                if value.shape != p.shape:
                    raise SystemExit(f"{key}: exported shape {tuple(value.shape)}, network's {tuple(p.shape)}")
                p.copy_(value)


@torch.no_grad()
def accuracy(models: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    for m in models.values():
        m.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (models["C"](models["G"](x[i : i + batch])).argmax(1) == y[i : i + batch]).sum().item()
    for m in models.values():
        m.train()
    return correct / len(x)


def versions() -> dict:
    found = {"python": platform.python_version(), "torch_build": torch.__version__}
    for package in ("pytorch-adapt", "torch", "torchvision", "numpy", "pytorch-metric-learning", "torchmetrics"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def math_libraries() -> list[str]:
    """The BLAS and oneDNN lines of torch's build report (the kernels this network runs on)."""
    return [line.strip() for line in torch.__config__.parallel_info().splitlines() if any(k in line for k in LIBRARIES)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the round's .npz from peers.py")
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True, help="torch.set_num_threads, as advlab's --threads")
    parser.add_argument("--channels-last", action="store_true", help="store G's weights and inputs channels-last")
    parser.add_argument("--out", required=True, help="the result (JSON), written when the run has finished")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with np.load(args.data) as archive:
        data = {key: archive[key] for key in archive.files}  # read once: an NpzFile reads a key at every access
    xs, ys = torch.from_numpy(data["source_x"]), torch.from_numpy(data["source_y"])
    xt = torch.from_numpy(data["target_x"])
    src_idx, tgt_idx = torch.from_numpy(data["source_idx"]), torch.from_numpy(data["target_idx"])
    invert = torch.from_numpy(data["invert"]).view(*data["invert"].shape, 1, 1, 1)
    steps = int(data["steps_per_epoch"])
    total = args.epochs * steps
    if len(src_idx) < total:
        raise SystemExit(f"{args.data} holds batches for {len(src_idx)} steps, {args.epochs} epochs need {total}")

    models = ganin_networks(args.channels_last)
    load_initial_weights(models, data)
    optimizers = {
        name: torch.optim.SGD(m.parameters(), lr=LR0, momentum=MOMENTUM) for name, m in models.items()
    }  # one per model, pytorch-adapt's idiom; plain SGD updates each parameter alike either way
    f_hook = FeaturesForDomainLossHook()
    reversal = GradientReversalHook(weight=0.0, apply_to=f_hook.out_keys)  # its weight: lambda(p), set every step
    hook = DANNHook(
        list(optimizers.values()),
        weighter=SumWeighter(weights=LOSS_WEIGHTS),
        f_hook=f_hook,
        gradient_reversal=reversal,
    )
    batch = src_idx.shape[1]
    domains = {"src_domain": torch.zeros(batch), "target_domain": torch.ones(batch)}

    tests = {
        domain: (torch.from_numpy(data[f"{domain}_test_x"]), torch.from_numpy(data[f"{domain}_test_y"]))
        for domain in ("source", "target")
    }
    history = []
    for epoch in range(args.epochs):
        sums = {"cls": 0.0, "dom": 0.0}
        started = time.perf_counter()
        for i in range(steps):
            step = epoch * steps + i
            p = step / total
            lr = LR0 / (1.0 + LR_ALPHA * p) ** LR_BETA
            for optimizer in optimizers.values():
                for group in optimizer.param_groups:
                    group["lr"] = lr
            lam = 2.0 / (1.0 + math.exp(-GAMMA * p)) - 1.0
            reversal.fn.update_weight(lam)
            si = src_idx[step]
            source = xs[si]
            source = torch.where(invert[step], 255 - source, source)  # advlab's --augment invert, its draws
            _, losses = hook(
                {**models, "src_imgs": source, "src_labels": ys[si], "target_imgs": xt[tgt_idx[step]], **domains}
            )
            parts = losses["total_loss"]
            sums["cls"] += parts["src_c_loss"]
            sums["dom"] += parts["src_domain_loss"] + parts["target_domain_loss"]
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch + 1,
            "lr": lr,
            "lambda": lam,
            "loss_cls": sums["cls"] / steps,
            "loss_dom": sums["dom"] / steps,
            "train_seconds": seconds,
            "images_per_second": steps * 2 * batch / seconds,
            "source_acc": accuracy(models, *tests["source"]),
            "target_acc": accuracy(models, *tests["target"]),
        }
        history.append(record)
        print(json.dumps(record), flush=True)

    result = {
        "toolkit": "pytorch-adapt",
        "hook": "pytorch_adapt.hooks.DANNHook",
        "seed": int(data["seed"]),
        "epochs": args.epochs,
        "steps_per_epoch": steps,
        "batch_size": batch,
        "threads": torch.get_num_threads(),
        "channels_last": args.channels_last,
        "versions": versions(),
        "math_libraries": math_libraries(),
        "cpu_count": os.cpu_count(),
        "history": history,
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=2)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
