"""Rebuild a run's model from its directory alone.

Every checkpoint records the backbone's name and constructor arguments, so analysis,
`--init`, the report and the benchmarks load any method's run, on any backbone, with one
call (a checkpoint from before backbones were named holds Ganin's network).
Checkpoints written before the method engine (one `model` state with the domain classifier
inside, one `optimizer`) are read too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from advlab.backbones import DEFAULT, Backbone, build_backbone
from advlab.config import resolve
from advlab.errors import AdvlabError
from advlab.plugins import unknown
from advlab.runs.checkpoint import load_checkpoint
from advlab.runs.engine import MARKER, training_now
from advlab.train.config import adapt_config, recorded_options

if TYPE_CHECKING:
    from advlab.train.config import AdaptConfig

LEGACY_HEAD_PREFIX = "discriminator."


def upgrade_legacy(state: dict[str, Any], method: str) -> dict[str, Any]:
    """A pre-engine checkpoint in today's layout (the same tensors, regrouped)."""
    if "model_args" in state or "model" not in state:
        return state
    model = {k: v for k, v in state["model"].items() if not k.startswith(LEGACY_HEAD_PREFIX)}
    heads = {k: v for k, v in state["model"].items() if k.startswith(LEGACY_HEAD_PREFIX)}
    num_classes = int(model["classifier.4.weight"].shape[0])
    upgraded = dict(
        state,
        model=model,
        heads=heads if method in ("dann", "dann_no_grl") else {},
        model_args={"num_classes": num_classes},
    )
    if "optimizer" in state:
        upgraded["optimizers"] = {"model": state.pop("optimizer")} if method in ("dann", "dann_no_grl") else {}
    if "pseudo_labels" in state:
        upgraded["method_state"] = {"pseudo_labels": state["pseudo_labels"]}
    return upgraded


def run_config(run_dir: str | Path) -> AdaptConfig:
    run_dir = Path(run_dir)
    made_by = (run_dir / MARKER).read_text(errors="replace").strip() if (run_dir / MARKER).is_file() else "adapt"
    if made_by != "adapt":  # its config.yaml would only say "unknown config key 'variant'"
        raise AdvlabError(f"{run_dir} is an advlab {made_by} run, not an advlab adapt run")
    if not (run_dir / "config.yaml").is_file():
        raise AdvlabError(f"{run_dir} is not an advlab adapt run directory (no config.yaml)")
    return resolve(adapt_config(), {}, base=recorded_options(run_dir / "config.yaml"))


def selected_checkpoint(run_dir: str | Path, cfg: AdaptConfig) -> Path:
    """The checkpoint the run reports: its last, or the one its --select validator picked."""
    return Path(run_dir) / ("last.pt" if cfg.select == "last" else "best.pt")


def build_model(state: dict[str, Any], normalization: str) -> Backbone:
    """The network a checkpoint holds, with the weights it reports (the evaluated ones: the
    weight average or a teacher, where the run had one)."""
    args = dict(state["model_args"])
    args.setdefault("normalization", normalization)
    name = state.get("backbone", DEFAULT)
    try:
        model = build_backbone(name, args)
    except KeyError:
        raise AdvlabError(f"the checkpoint holds a network of {unknown('backbone', name)}") from None
    model.load_state_dict(state.get("eval_model", state["model"]))
    return model


def load_run_state(run_dir: str | Path, require_finished: bool = False) -> tuple[dict[str, Any], AdaptConfig]:
    """The checkpoint a run reports (today's layout) and the run's config."""
    cfg = run_config(run_dir)
    state = upgrade_legacy(load_checkpoint(selected_checkpoint(run_dir, cfg)), cfg.method)
    if require_finished and training_now(run_dir):
        raise AdvlabError(
            f"{run_dir} is still training (epoch {state['epoch']} of {cfg.epochs} done); wait for it to finish"
        )
    if require_finished and cfg.select == "last" and int(state["epoch"]) != cfg.epochs:
        raise AdvlabError(
            f"{run_dir} stopped after epoch {state['epoch']} of {cfg.epochs}; finish it with --resume first"
        )
    return state, cfg


def load_run_model(run_dir: str | Path, require_finished: bool = False) -> tuple[Backbone, AdaptConfig]:
    """The backbone (G_f + G_y) a run reports, in eval mode, and the run's config."""
    state, cfg = load_run_state(run_dir, require_finished)
    return build_model(state, cfg.normalization).eval(), cfg
