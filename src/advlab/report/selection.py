"""`advlab select`: which checkpoint each label-free validator picks, read from finished runs.

Nothing is retrained. The target accuracy of every pick is shown beside the last epoch's
and the oracle's (the best target test accuracy: analysis only, never a selection rule).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from advlab.config import load_yaml
from advlab.errors import AdvlabError
from advlab.metrics.ranking import weighted_spearman
from advlab.train.validation import VALIDATORS


@dataclass
class Checkpoint:
    run: str
    epoch: int
    target_acc: float
    scores: dict[str, float]
    unscored: list[str] = field(default_factory=list)  # validators recorded with a non-finite score (NaN)
    degenerate: str | None = None  # why the run flagged this epoch as collapsed: never picked


class Unfinished(AdvlabError):
    """A run still training, stopped or killed: its last recorded epoch is not its last."""


def read_checkpoints(run_dir: Path) -> list[Checkpoint]:
    """Every epoch of a finished run: summary.json is written, and the last record is the
    configured last epoch (a run extended with a larger --epochs keeps its old summary.json
    until it finishes again). Otherwise Unfinished."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise AdvlabError(f"{run_dir} is not an advlab adapt run directory (no metrics.jsonl)")
    if not (Path(run_dir) / "summary.json").is_file():
        raise Unfinished(
            f"{run_dir} is not finished (no summary.json: still training, or stopped); finish it with --resume"
        )
    rows = _records(path)
    if not rows:
        raise AdvlabError(f"{run_dir} has no finished epoch yet")
    planned = _planned_epochs(Path(run_dir))
    if planned is not None and rows[-1]["epoch"] < planned:
        raise Unfinished(
            f"{run_dir} is not finished ({rows[-1]['epoch']} of {planned} epochs recorded); finish it with --resume"
        )
    return [_checkpoint(str(run_dir), r) for r in rows]


def _records(path: Path) -> list[dict[str, Any]]:
    """The epoch records of metrics.jsonl. A last line without its newline is one being
    written right now (or by a run killed while writing it): the run is unfinished. Any
    other line that is not a record is damage, named by its number."""
    lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                raise Unfinished(
                    f"{path} line {number} is cut off, as a run writing it now (or killed while writing it) leaves it; "
                    "finish the run with --resume"
                ) from None
            raise AdvlabError(f"{path} line {number} is not valid JSON; the record is damaged") from None
        if not isinstance(row, dict) or not {"epoch", "target_acc"} <= row.keys():
            raise AdvlabError(f"{path} line {number} is not an advlab epoch record (no epoch or target_acc)")
        rows.append(row)
    return rows


def _planned_epochs(run_dir: Path) -> int | None:
    """The epochs the run is configured for: config.yaml's (rewritten when a resume extends
    the run), else summary.json's; None when neither says."""
    if (run_dir / "config.yaml").is_file():
        return load_yaml(run_dir / "config.yaml").get("epochs")
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise AdvlabError(f"{run_dir / 'summary.json'} is not valid JSON") from None
    return summary.get("epochs") if isinstance(summary, dict) else None


def _checkpoint(run: str, record: dict[str, Any]) -> Checkpoint:
    """A record's finite scores; a NaN or infinite one (written by runs before validators
    returned None) is named in `unscored`, never ranked."""
    scores, unscored = {}, []
    for name, key in VALIDATORS.items():
        value = record.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            scores[name] = value
        elif value is not None:
            unscored.append(name)
    degenerate = record.get("degenerate")
    return Checkpoint(run, record["epoch"], record["target_acc"], scores, unscored, degenerate or None)


def pick(checkpoints: list[Checkpoint], validator: str) -> Checkpoint | None:
    """The checkpoint the validator scores highest (the earliest among equals); None if no
    checkpoint has its score. A degenerate checkpoint is never picked, however it scores: a
    collapsed model can look perfect to a label-free validator."""
    scored = [c for c in checkpoints if validator in c.scores and not c.degenerate]
    return max(scored, key=lambda c: c.scores[validator]) if scored else None


def per_run(checkpoints: list[Checkpoint], validators: list[str]) -> dict[str, Any]:
    """`unscored` (only when some): per validator, the epochs whose recorded score is NaN,
    left out of its pick."""
    last, oracle = checkpoints[-1], max(checkpoints, key=lambda c: c.target_acc)
    picks = {}
    for name in validators:
        chosen = pick(checkpoints, name)
        picks[name] = None if chosen is None else {"epoch": chosen.epoch, "target_acc": chosen.target_acc}
    unscored = {name: n for name in validators if (n := sum(name in c.unscored for c in checkpoints))}
    degenerate = {str(c.epoch): c.degenerate for c in checkpoints if c.degenerate}
    return (
        {
            "run": last.run,
            "epochs": len(checkpoints),
            "last": {"epoch": last.epoch, "target_acc": last.target_acc},
            "oracle_analysis_only": {"epoch": oracle.epoch, "target_acc": oracle.target_acc},
            "picks": picks,
        }
        | ({"unscored": unscored} if unscored else {})
        | ({"skipped_degenerate": degenerate} if degenerate else {})
    )


def across_runs(runs: list[list[Checkpoint]], validators: list[str]) -> dict[str, Any]:
    """Over every checkpoint of every run: each validator's pick and its weighted Spearman
    correlation with target accuracy; `last` picks among the runs' last epochs."""
    pool = [c for run in runs for c in run]
    lasts = [run[-1] for run in runs]
    best_last = max(lasts, key=lambda c: c.target_acc)
    out: dict[str, Any] = {
        "checkpoints": len(pool),
        "skipped_degenerate": sum(1 for c in pool if c.degenerate),
        "oracle_analysis_only": _where(max(pool, key=lambda c: c.target_acc)),
        "mean_last_target_acc": float(np.mean([c.target_acc for c in lasts])),
        "validators": {},
    }
    out["best_last_analysis_only"] = _where(best_last)
    for name in validators:
        scored = [c for c in pool if name in c.scores and not c.degenerate]
        if not scored:
            out["validators"][name] = None
            continue
        rho = (
            weighted_spearman([c.scores[name] for c in scored], [c.target_acc for c in scored])
            if len(scored) > 2
            else None
        )
        out["validators"][name] = {
            "pick": _where(pick(scored, name)),
            "weighted_spearman": rho if rho is not None and math.isfinite(rho) else None,  # NaN: constant scores
            "checkpoints_scored": len(scored),
            "mean_pick_per_run": float(
                np.mean([chosen.target_acc for chosen in map(lambda run: pick(run, name), runs) if chosen])
            ),
        }
    return out


def _where(c: Checkpoint) -> dict[str, Any]:
    return {"run": c.run, "epoch": c.epoch, "target_acc": c.target_acc}


def select(run_dirs: list[Path], validators: list[str] | None = None) -> dict[str, Any]:
    """The picks of the finished runs among `run_dirs`. An unfinished one is left out and
    named in result["unfinished"] (the CLI warns about each) rather than refused: during a
    study, `advlab select runs/*` still compares the runs that are done, and no run at epoch
    20 of 30 is read as if 20 were its last. None finished: an error."""
    unknown = [v for v in validators or [] if v not in VALIDATORS]
    if unknown:
        raise AdvlabError(f"unknown validator {unknown[0]!r}; choose from {', '.join(VALIDATORS)}")
    names = validators or list(VALIDATORS)
    runs, unfinished = [], []
    for d in run_dirs:
        try:
            runs.append(read_checkpoints(d))
        except Unfinished as e:
            unfinished.append(str(e))
    if not runs:
        more = f" (and {len(unfinished) - 1} other runs are not finished)" if len(unfinished) > 1 else ""
        raise AdvlabError(unfinished[0] + more)
    result = {"validators": names, "runs": [per_run(r, names) for r in runs]}
    if len(runs) > 1:
        result["across_runs"] = across_runs(runs, names)
    if unfinished:
        result["unfinished"] = unfinished
    return result


def to_json(result: dict[str, Any]) -> str:
    """`result` as JSON every parser accepts: JSON has no NaN, so a non-finite number is null."""

    def finite(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(result), indent=2, allow_nan=False)


def table(result: dict[str, Any]) -> str:
    """The terminal view: one block per run, then the pooled comparison."""
    lines = []
    for r in result["runs"]:
        lines.append(f"{r['run']}  ({r['epochs']} epochs)")
        lines.append(f"  {'rule':<12} {'epoch':>5}  target acc")
        lines.append(f"  {'last':<12} {r['last']['epoch']:>5}  {r['last']['target_acc']:.4f}")
        for name, p in r["picks"].items():
            nan = r.get("unscored", {}).get(name)
            if p:
                left_out = f"  ({nan} epochs with a NaN score left out)" if nan else ""
                lines.append(f"  {name:<12} {p['epoch']:>5}  {p['target_acc']:.4f}{left_out}")
            else:
                said = f"(NaN in all {nan} epochs: nothing to pick)" if nan else "(not recorded in this run)"
                lines.append(f"  {name:<12} {'-':>5}  {said}")
        o = r["oracle_analysis_only"]
        lines.append(f"  {'oracle*':<12} {o['epoch']:>5}  {o['target_acc']:.4f}")
        for epoch, why in r.get("skipped_degenerate", {}).items():
            lines.append(f"  skipped epoch {epoch}, degenerate: {why}")
    pooled = result.get("across_runs")
    if pooled:
        skipped = f", {pooled['skipped_degenerate']} degenerate ones skipped" if pooled["skipped_degenerate"] else ""
        lines.append(
            f"\nacross {len(result['runs'])} runs ({pooled['checkpoints']} checkpoints{skipped}): "
            f"mean target acc of the last epochs {pooled['mean_last_target_acc']:.4f}"
        )
        lines.append(
            f"  {'validator':<12} {'mean of per-run picks':>21}  {'pick among all':>14}  {'weighted Spearman':>17}"
        )
        for name, v in pooled["validators"].items():
            if v is None:
                lines.append(f"  {name:<12} (not recorded in these runs)")
                continue
            rho = f"{v['weighted_spearman']:.3f}" if v["weighted_spearman"] is not None else "-"
            lines.append(f"  {name:<12} {v['mean_pick_per_run']:>21.4f}  {v['pick']['target_acc']:>14.4f}  {rho:>17}")
        o = pooled["oracle_analysis_only"]
        lines.append(f"  {'oracle*':<12} {'':>21}  {o['target_acc']:>14.4f}")
    lines.append("* oracle: the best target test accuracy, for analysis only; nothing is selected by it")
    return "\n".join(lines)


def check_figure_path(path: Path) -> None:
    """Refuse, before any work, a figure name matplotlib cannot write: an unknown or missing
    image suffix (with none it would add .png and write another file than named) or a
    folder that does not exist."""
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in kinds:
        raise AdvlabError(f"figure {path}: name it .png (or .pdf, .svg; any of {', '.join(sorted(kinds))})")
    if not path.parent.is_dir():
        raise AdvlabError(f"figure {path}: folder {path.parent} does not exist")


def figure(result: dict[str, Any], run_dirs: list[Path], path: Path) -> Path:
    """Score against target accuracy for every checkpoint of the runs `result` holds (the
    finished ones among `run_dirs`), one panel per validator."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_figure_path(Path(path))
    done = {r["run"] for r in result["runs"]}
    pool = [c for d in run_dirs if str(d) in done for c in read_checkpoints(d)]
    names = [n for n in result["validators"] if any(n in c.scores for c in pool)]
    cols = min(4, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        scored = [c for c in pool if name in c.scores]
        ax.scatter([c.scores[name] for c in scored], [c.target_acc for c in scored], s=8, alpha=0.6)
        rho = result.get("across_runs", {}).get("validators", {}).get(name, {}) or {}
        ax.set_title(
            name + (f"  (wρ {rho['weighted_spearman']:.2f})" if rho.get("weighted_spearman") is not None else ""),
            fontsize=9,
        )
        ax.set_xlabel("score", fontsize=8)
        ax.set_ylabel("target acc (analysis)", fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as e:
        raise AdvlabError(f"cannot write figure {path}: {(e.strerror or str(e)).lower()}") from None
    finally:
        plt.close(fig)
    return path
