"""Progress bars that `--quiet` turns off, on stderr so stdout stays one line per epoch."""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress(total: int, desc: str, quiet: bool, unit: str = "step") -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=quiet,
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
    )
