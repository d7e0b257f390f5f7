"""After the search: choose among the finished trials, say whether adapting helps, write
OUT/best.yaml, trials.json, trials.md and scores.png, and rerun the choice at full budget.

Only label-free scores choose. Target accuracy is in the table as `target_acc (analysis
only)`: it tells a reader with labels how good the choice was, and nothing here reads it.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from advlab.config import resolve, to_yaml
from advlab.metrics.validators import ensv_scores
from advlab.runs.files import atomic_write
from advlab.train.validation import VALIDATORS
from advlab.tune.space import options_of
from advlab.tune.study import TuneOptions, read_history

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


def row(trial) -> dict[str, Any]:
    attrs = trial.user_attrs
    return {
        "number": trial.number,
        "method": trial.params.get("method"),
        "params": options_of(trial.params) if "method" in trial.params else {},
        "state": STATES.get(trial.state.name, trial.state.name.lower()),
        "score": trial.value,
        "selection_score": None,
        "degenerate": attrs.get("degenerate"),
        "error": attrs.get("error") or attrs.get("interrupted"),
        "pruned": attrs.get("pruned"),  # stopped behind the others: the epoch and score that stopped it
        "pruned_at_epoch": attrs.get("pruned_at_epoch"),
        "target_acc_analysis_only": attrs.get("target_acc"),
        "scores": attrs.get("scores", {}),
        "run_dir": attrs.get("run_dir"),
    }


def choose(opts: TuneOptions, trials: list) -> dict[str, Any]:
    """The rows, each finished one scored by --by, the best, and the verdict on adapting.
    EnsV is computed over the finished, non-degenerate trials only (the pruned ones never
    enter the ensemble), so a collapsed run cannot pull the ensemble towards itself."""
    rows = [row(t) for t in trials]
    finished = [r for r in rows if r["state"] == "complete"]
    if opts.by == "ensv":
        predictions = Path(opts.out) / "predictions"
        probabilities = [torch.load(predictions / f"{r['number']}.pt", weights_only=True) for r in finished]
        for r, score in zip(finished, ensv_scores(probabilities)):
            r["selection_score"] = score
    else:
        for r in finished:
            r["selection_score"] = r["scores"].get(opts.by)
    scored = [r for r in finished if r["selection_score"] is not None]
    best = max(scored, key=lambda r: r["selection_score"], default=None)
    baseline = max(
        (r for r in scored if r["method"] == "source_only"), key=lambda r: r["selection_score"], default=None
    )
    adapted = max((r for r in scored if r["method"] != "source_only"), key=lambda r: r["selection_score"], default=None)
    return {
        "by": opts.by,
        "objective": opts.objective,
        "rows": rows,
        "best": best,
        **verdict(opts.by, baseline, adapted),
    }


def verdict(by: str, baseline: dict | None, adapted: dict | None) -> dict[str, Any]:
    """Whether adapting is predicted to help on this pair, by how much, on which trials."""
    if baseline is None and adapted is None:
        return {"adapt": None, "gain": None, "evidence": [], "verdict": "no trial finished: nothing to choose"}
    if adapted is None:
        said = f"do not adapt: no adapted trial finished; source_only (trial {baseline['number']}) is all there is"
        return {"adapt": False, "gain": None, "evidence": [baseline["number"]], "verdict": said}
    if baseline is None:
        said = (
            f"{adapted['method']} (trial {adapted['number']}) chosen, but no source_only trial finished "
            "undegenerate: no baseline to compare with"
        )
        return {"adapt": None, "gain": None, "evidence": [adapted["number"]], "verdict": said}
    gain = adapted["selection_score"] - baseline["selection_score"]
    a = f"{adapted['method']} (trial {adapted['number']}) {adapted['selection_score']:.4f}"
    b = f"source_only (trial {baseline['number']}) {baseline['selection_score']:.4f}"
    said = (
        f"adapt: {a} by {by} against {b}, {gain:+.4f}"
        if gain > 0
        else f"do not adapt: {b} by {by}, the best adapted trial {a} ({gain:+.4f})"
    )
    return {"adapt": gain > 0, "gain": gain, "evidence": [adapted["number"], baseline["number"]], "verdict": said}


def best_values(opts: TuneOptions, best: dict[str, Any]) -> dict[str, Any]:
    """The chosen configuration at adapt's full budget (its default epochs, no subset): keys
    AdaptConfig knows, and the chosen method's own options only."""
    values = {
        "method": best["method"],
        "source": opts.source,
        "target": opts.target,
        "backbone": opts.backbone,
        "geometry": opts.geometry,
        "data_dir": opts.data_dir,
        "batch_size": opts.batch_size,
        "val_size": opts.val_size,
        "validation_size": opts.validation_size,
        **best["params"],
    }
    return {k: v for k, v in values.items() if v is not None}


def reproduce(opts: TuneOptions, best: dict[str, Any]) -> dict[str, Any]:
    """The chosen configuration at full budget for seeds 0..K-1 in OUT/reproduce/s<seed>/
    (a finished one is reused, a stopped one resumed): its score's mean and spread."""
    from advlab.train.adapt import run_adapt
    from advlab.train.config import AdaptConfig

    scores, accuracies = [], []
    for seed in range(opts.reproduce_seeds):
        run_dir = Path(opts.out) / "reproduce" / f"s{seed}"
        extra = {"seed": seed, "out": str(run_dir), "threads": opts.threads, "device": opts.device}
        cfg = resolve(AdaptConfig, best_values(opts, best) | extra)
        if not (run_dir / "summary.json").exists():
            run_dir.parent.mkdir(parents=True, exist_ok=True)
            with open(run_dir.parent / f"s{seed}.log", "a") as log, contextlib.redirect_stdout(log):
                run_adapt(cfg, resume=(run_dir / "last.pt").exists(), quiet=True)
        last = read_history(run_dir)[-1]
        scores.append(last.get(VALIDATORS[opts.objective]))
        accuracies.append(last["target_acc"])
    return {"seeds": list(range(opts.reproduce_seeds)), "validator": opts.objective, **spread("score", scores)} | {
        f"{k}_analysis_only": v for k, v in spread("target_acc", accuracies).items()
    }


def spread(name: str, values: list) -> dict[str, Any]:
    values = [v for v in values if v is not None]
    mean = statistics.fmean(values) if values else None
    std = statistics.stdev(values) if len(values) > 1 else 0.0 if values else None
    return {f"{name}_mean": mean, f"{name}_std": std, f"{name}s": values}


def write_report(opts: TuneOptions, trials: list, result: dict[str, Any]) -> None:
    out = Path(opts.out)
    best = result["best"]
    if best:
        from advlab.train.config import AdaptConfig

        values = best_values(opts, best)
        resolve(AdaptConfig, values)  # what adapt --config will take
        header = (
            f"# advlab tune: trial {best['number']}, chosen by {opts.by}; advlab adapt --config {out / 'best.yaml'}\n"
        )
        atomic_write(out / "best.yaml", header + to_yaml(values))
    atomic_write(out / "trials.json", json.dumps(result, indent=2) + "\n")
    atomic_write(out / "trials.md", markdown(opts, result))
    figure(opts, result["rows"], best, out / "scores.png")
    atomic_write(out / "summary.json", json.dumps(summary(opts, result), indent=2) + "\n")


def summary(opts: TuneOptions, result: dict[str, Any]) -> dict[str, Any]:
    """The answer in a few lines, written last: like a run's summary.json, its presence says the
    command ended (`advlab reproduce` skips a finished tune run by it)."""
    best = result["best"]
    return {
        "command": "tune",
        "verdict": result["verdict"],
        "adapt": result.get("adapt"),
        "gain": result.get("gain"),
        "by": opts.by,
        "objective": opts.objective,
        "best": {k: best[k] for k in ("number", "method", "params", "selection_score")} if best else None,
        "trials": dict(Counter(r["state"] for r in result["rows"])),
        "degenerate_trials": sum(bool(r["degenerate"]) for r in result["rows"]),
        **({"reproduce": result["reproduce"]} if "reproduce" in result else {}),
    }


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def markdown(opts: TuneOptions, result: dict[str, Any]) -> str:
    lines = [
        f"# advlab tune: {opts.source} -> {opts.target}",
        "",
        f"**{result['verdict']}**",
        "",
        f"Optuna maximised `{opts.objective}` at the trial budget ({opts.trial_epochs} epochs, "
        f"{opts.trial_subset or 'all'} training images); `{opts.by}` chose among the finished trials. "
        "target_acc reads target labels: analysis only, never used to choose.",
        "",
    ]
    if "reproduce" in result:
        r = result["reproduce"]
        lines += [
            f"Reproduced at full budget, seeds {r['seeds']}: {opts.objective} {_number(r['score_mean'])} ± "
            f"{_number(r['score_std'])}; target_acc (analysis only) {_number(r['target_acc_mean_analysis_only'])} ± "
            f"{_number(r['target_acc_std_analysis_only'])}",
            "",
        ]
    lines += [
        f"| trial | method | params | {opts.objective} | {opts.by} | state | degenerate / pruned / error "
        "| target_acc (analysis only) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        params = ", ".join(f"{k}={_number(v)}" for k, v in r["params"].items() if k != "method")
        chosen = " (chosen)" if result["best"] and r["number"] == result["best"]["number"] else ""
        lines.append(
            f"| {r['number']}{chosen} | {r['method'] or ''} | {params} | {_number(r['score'])} | "
            f"{_number(r['selection_score'])} | {r['state']} | {r['degenerate'] or r['pruned'] or r['error'] or ''} | "
            f"{_number(r['target_acc_analysis_only'])} |"
        )
    return "\n".join(lines) + "\n"


def figure(opts: TuneOptions, rows: list[dict[str, Any]], best: dict | None, path: Path) -> None:
    """The objective's score against trial number, a colour per method; degenerate (pruned)
    trials crossed at their last score, where there is one; trials the pruner stopped hollow
    at the score that stopped them; the chosen one starred."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    methods = list(dict.fromkeys(r["method"] for r in rows if r["method"]))
    colours = plt.get_cmap("tab10")
    for i, method in enumerate(methods):
        mine = [r for r in rows if r["method"] == method]
        done = [r for r in mine if r["state"] == "complete"]
        ax.scatter([r["number"] for r in done], [r["score"] for r in done], color=colours(i % 10), label=method)
        bad = [r for r in mine if r["degenerate"] and r["scores"].get(opts.objective) is not None]
        ax.scatter(
            [r["number"] for r in bad],
            [r["scores"][opts.objective] for r in bad],
            color=colours(i % 10),
            marker="x",
            label=f"{method} (degenerate, pruned)" if bad else None,
        )
        behind = [r for r in mine if r["pruned"] and r["scores"].get(opts.objective) is not None]
        ax.scatter(
            [r["number"] for r in behind],
            [r["scores"][opts.objective] for r in behind],
            facecolors="none",
            edgecolors=colours(i % 10),
            label=f"{method} (pruned early, score where it stopped)" if behind else None,
        )
    if best:
        ax.scatter(
            [best["number"]], [best["score"]], s=200, marker="*", facecolors="none", edgecolors="k", label="chosen"
        )
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{opts.objective} at the last epoch")
    ax.set_title(f"advlab tune: chosen by {opts.by}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
