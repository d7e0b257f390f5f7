"""The options of every training command (`advlab adapt`, `advlab gan`): where data live,
the seed, threads, device and precision. One definition, so that both commands take and
check them alike; each command's config dataclass inherits it."""

from __future__ import annotations

from dataclasses import dataclass

from advlab.config import check, option, shown
from advlab.runs.hardware import PRECISIONS, device_problem

SEEDS = 2**32  # what every seeded library takes (numpy and scikit-learn: [0, 2**32))


@dataclass
class RunOptions:
    data_dir: str | None = option(None, "where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)")
    seed: int = option(0, "seed for initialisation, batch order and every random draw of the run")
    threads: int | None = option(None, "CPU threads (default: all cores)")
    device: str = option("cpu", "cpu, cuda, or auto (cuda when available)")
    precision: str = option(
        "fp32",
        "fp32, bf16 (autocast) or auto (bf16 on CUDA and on CPUs with avx512_bf16/amx_bf16, else fp32)",
        PRECISIONS,
    )

    def check_run_options(self) -> None:
        check(0 <= self.seed < SEEDS, f"seed must be in [0, 2**32), got {self.seed}")
        check(self.threads is None or self.threads > 0, f"threads must be > 0, got {self.threads}")
        problem = device_problem(self.device)
        check(problem is None, problem or "")
        check(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}, got {shown(self.precision)}",
        )
