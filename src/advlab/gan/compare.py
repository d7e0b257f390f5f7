"""`advlab gan compare RUN_DIR...`: loss dynamics on one figure, final samples side by side."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from advlab.errors import AdvlabError  # noqa: E402
from advlab.viz.curves import plot_losses  # noqa: E402


def run_label(run_dir: Path) -> str:
    import yaml

    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    return f"{cfg['variant']} s{cfg['seed']}"


def compare_runs(run_dirs: list[Path], out: Path) -> list[Path]:
    """Writes <out>-losses.png and <out>-samples.png; returns their paths."""
    for run_dir in run_dirs:
        for name in ("config.yaml", "losses.csv", "samples_final.png"):
            if not (run_dir / name).is_file():
                raise AdvlabError(f"{run_dir} is not a finished advlab gan run (no {name})")
    labels = [run_label(r) for r in run_dirs]
    fig, axes = plt.subplots(1, len(run_dirs), figsize=(4.2 * len(run_dirs), 4.6), squeeze=False)
    for ax, run_dir, label in zip(axes[0], run_dirs, labels):
        ax.imshow(Image.open(run_dir / "samples_final.png"), cmap="gray")
        ax.set_title(label)
        ax.axis("off")
    fig.tight_layout()
    samples = out.with_name(out.stem + "-samples.png")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        losses = plot_losses(run_dirs, out.with_name(out.stem + "-losses.png"), labels)
        fig.savefig(samples, dpi=110)
    except OSError as e:  # an --out where nothing can be written (/proc, a file as folder) is the user's to change
        where = e.filename or out
        raise AdvlabError(f"cannot write {where}: {(e.strerror or str(e)).lower()}; choose another --out") from None
    finally:
        plt.close(fig)
    return [losses, samples]
