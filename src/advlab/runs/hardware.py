"""Where a run computes: its device, and its numeric precision (fp32, or bf16 autocast
where the hardware does bf16 natively).

`auto` picks bf16 on CUDA and on CPUs whose flags show `avx512_bf16` or `amx_bf16` (read
from /proc/cpuinfo, never assumed), fp32 elsewhere: on an AVX2-only CPU bf16 is emulated
and several times slower. Autocast runs matrix products and convolutions in bf16 and keeps
reductions, losses and the weights in fp32, so the optimizers and checkpoints are fp32 as
before; only the arithmetic inside the layers changes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

PRECISIONS = ("fp32", "bf16", "auto")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


DEVICES = ("cpu", "cuda", "auto")


def device_problem(name: str) -> str | None:
    """Why `name` cannot be used as a device here, in words, or None."""
    if name not in DEVICES:
        return f"device must be cpu, cuda or auto, got {name!r}"
    if name == "cuda" and not torch.cuda.is_available():
        return "device cuda asked for, but no CUDA device is available"
    return None


def resolve_device(name: str) -> torch.device:
    """cpu, cuda, or auto (cuda when there is one)."""
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The first processor's feature flags (empty where /proc/cpuinfo is not there)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_has_native_bf16(flags: set[str] | None = None) -> bool:
    return bool(set(BF16_CPU_FLAGS) & (cpu_flags() if flags is None else flags))


def resolve_precision(name: str, device: torch.device, flags: set[str] | None = None) -> str:
    """'fp32' or 'bf16': what `name` means on this device."""
    if name != "auto":
        return name
    native = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_native_bf16(flags)
    return "bf16" if native else "fp32"


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for `bf16`; nothing for `fp32` (so fp32 runs are the same code as before)."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
