"""The search: an Optuna study in OUT/study.db (OUT/study.journal with --launcher slurm:
advlab.tune.slurm) whose trials are real `advlab adapt` runs.

Each trial is a run directory OUT/trials/<number>-<method>/ trained in-process at a short
budget (--trial-epochs, --trial-subset). After each epoch's checkpoint its validator score
is reported to Optuna, and where the median pruner says the trial is behind (below the
median of the earlier trials at the same epoch, after the first few trials) the run stops
there: pruned, with the epoch and the score that stopped it, never chosen, its directory a
stopped run like a killed one. Its schedules were set for the whole trial budget, so the
epochs it ran are the first epochs of the trial it would have been. The last epoch is never
pruned (the trial is done by then), nor is `source_only`, the evidence for "do not adapt".
A trial whose last epoch is degenerate (metrics.jsonl's `degenerate`) is pruned with its
reason and never chosen; one whose run stops with a one-line error (a bad setting, a
diverged loss) is failed with that line.

The study lives in SQLite (Optuna's RDB storage): the same command again continues it
(`load_if_exists`), and `--jobs N` runs N worker processes, each calling study.optimize on
the same file. A trial left running by a killed command is marked failed ("interrupted")
when the next command starts, and does not count towards --trials.
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from advlab.config import resolve, to_yaml
from advlab.errors import AdvlabError
from advlab.methods import METHODS
from advlab.runs.engine import LOCK, refuse_users_folder
from advlab.runs.files import atomic_write
from advlab.train.validation import VALIDATORS
from advlab.tune.space import suggest

STUDY = "advlab-tune"
MARKER = ".advlab-tune"  # written into every tune folder: what makes it advlab's own
PROBE_IMAGES = 1000  # target training images (labels never read) each trial predicts, for EnsV
SELECTORS = (*VALIDATORS, "ensv")
# what defines a study: the same command again must search the same problem
STUDY_KEYS = (
    "methods",
    "source",
    "target",
    "data_dir",
    "trial_epochs",
    "trial_subset",
    "batch_size",
    "val_size",
    "validation_size",
    "seed",
    "objective",
)


@dataclass
class TuneOptions:
    methods: list[str]
    source: str
    target: str
    out: str
    backbone: str = "ganin"
    geometry: str = "crop"
    trials: int = 12
    by: str = "ensv"
    objective: str = "class_ami"
    trial_epochs: int = 3
    # 3 epochs of 2,000 MNIST images left source_only at 0.36 source accuracy, so trials were ranked
    # before any of them had learnt the task; of 10,000, 0.93, for a fifth more time per trial
    trial_subset: int | None = 10000
    batch_size: int = 64
    val_size: int = 1000
    validation_size: int = 1000
    data_dir: str | None = None
    seed: int = 0
    jobs: int = 1
    threads: int | None = None
    device: str = "cpu"
    reproduce_seeds: int = 0
    quiet: bool = False
    launcher: str = "local"  # or "slurm": the workers as Slurm jobs (advlab.tune.slurm)
    cluster: Any = None  # advlab.report.slurm.SlurmOptions, with --launcher slurm

    def check(self) -> None:
        for method in self.methods:
            if method not in METHODS:
                raise AdvlabError(f"unknown method {method!r}; choose from {', '.join(tunable())}")
            if method not in tunable():
                raise AdvlabError(f"method {method} cannot be tuned here ({why_not(method)})")
        if self.by not in SELECTORS:
            raise AdvlabError(f"unknown validator {self.by!r} for --by; choose from {', '.join(SELECTORS)}")
        if self.objective not in VALIDATORS:
            raise AdvlabError(
                f"unknown validator {self.objective!r} for --objective; choose from {', '.join(VALIDATORS)}"
            )
        for name in ("trials", "jobs", "trial_epochs"):
            if getattr(self, name) < 1:
                raise AdvlabError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.reproduce_seeds < 0:
            raise AdvlabError(f"--reproduce-seeds must be >= 0, got {self.reproduce_seeds}")
        if self.objective != "source_val" and self.validation_size < 1:
            raise AdvlabError(f"--objective {self.objective} needs --validation-size > 0")

    def candidates(self) -> list[str]:
        """The methods searched: source_only always among them, so the answer can be 'do not adapt'."""
        return ["source_only", *[m for m in self.methods if m != "source_only"]]

    def study_record(self) -> dict[str, Any]:
        record = {k: v for k, v in vars(self).items() if k in STUDY_KEYS} | {"methods": self.candidates()}
        return record | {"storage": self.storage_file()}

    def storage_file(self) -> str:
        """SQLite here; Optuna's journal file where Slurm jobs on other nodes share the study."""
        return "study.journal" if self.launcher == "slurm" else "study.db"


def why_not(method: str) -> str:
    if METHODS[method].needs.target_labels:
        return "it reads target labels"
    return "it starts from a finished run (--init)"


def tunable() -> list[str]:
    """Methods a label-free search may train: none that reads target labels or needs --init."""
    return [m.name for m in METHODS.values() if not m.needs.target_labels and not m.needs_init]


def import_optuna():
    try:
        import optuna
    except ImportError:
        raise AdvlabError("advlab tune needs Optuna: pip install 'advlab[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial's line is ours; a failure is recorded
    return optuna


def adapt_values(opts: TuneOptions, method: str, options: dict[str, Any]) -> dict[str, Any]:
    """The adapt options of a trial of `method` at the trial budget, before its out folder."""
    values = {
        "method": method,
        "source": opts.source,
        "target": opts.target,
        "backbone": opts.backbone,
        "geometry": opts.geometry,
        "data_dir": opts.data_dir,
        "epochs": opts.trial_epochs,
        "train_subset": opts.trial_subset,
        "batch_size": opts.batch_size,
        "val_size": opts.val_size,
        "validation_size": opts.validation_size,
        "seed": opts.seed,
        "threads": opts.threads,
        "device": opts.device,
    }
    return values | options


def open_folder(out: Path) -> None:
    """Refuse a --out holding files advlab did not write: new, empty or marked MARKER only."""
    if out.exists() and not out.is_dir():
        raise AdvlabError(f"--out {out} exists and is not a folder")
    refuse_users_folder(out, {MARKER})


def lock_folder(out: Path):
    """Hold OUT/.lock for the command: a second `advlab tune` on the same folder is refused
    (its workers share the study; two commands would both count the trials left)."""
    handle = open(out / LOCK, "a")  # noqa: SIM115 (held until the command ends)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AdvlabError(f"another advlab tune is working in {out}; wait for it or choose another --out") from None
    return handle


def check_same_study(out: Path, record: dict[str, Any]) -> None:
    path = out / "tune.yaml"
    if not path.exists():
        atomic_write(path, to_yaml(record))
        return
    saved = {"storage": "study.db"} | (yaml.safe_load(path.read_text()) or {})  # a study from before the journal
    changed = [k for k in record if saved.get(k) != record[k]]
    if changed:
        said = ", ".join(f"{k} {saved.get(k)!r} -> {record[k]!r}" for k in changed)
        raise AdvlabError(f"{out} holds a study of other settings ({said}); choose another --out")


def storage_url(out: Path) -> str:
    return f"sqlite:///{out.resolve() / 'study.db'}"


def make_storage(optuna, opts: TuneOptions):
    path = Path(opts.out).resolve() / opts.storage_file()
    if opts.launcher == "slurm":
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    # several workers write one SQLite file: wait for its lock rather than fail
    return optuna.storages.RDBStorage(storage_url(Path(opts.out)), engine_kwargs={"connect_args": {"timeout": 120}})


def load_study(optuna, opts: TuneOptions, worker: int = 0):
    """The shared study; each worker's sampler is seeded apart (seed + worker), else two workers
    would draw the same settings from the same history."""
    storage = make_storage(optuna, opts)
    return optuna.create_study(
        study_name=STUDY,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=opts.seed + worker),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
        load_if_exists=True,
    )


def probe_images(opts: TuneOptions) -> torch.Tensor:
    """The first PROBE_IMAGES target training images: what every trial predicts for EnsV (no labels)."""
    from advlab.backbones import BACKBONES
    from advlab.data.domains import load_domain

    size = BACKBONES[opts.backbone].input_size  # checked by run_tune before any trial
    return load_domain(opts.target, opts.data_dir, opts.geometry, quiet=True, size=size).train.x[:PROBE_IMAGES]


def predict(run_dir: Path, images: torch.Tensor) -> torch.Tensor:
    from advlab.metrics.accuracy import batched
    from advlab.train.restore import load_run_model

    model, _ = load_run_model(run_dir)
    with torch.no_grad():
        return torch.softmax(batched(lambda x: model.classifier(model.embed(x)), images), dim=1)


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    import json

    from advlab.runs.files import complete_lines

    return [json.loads(line) for line in complete_lines(run_dir / "metrics.jsonl")]


class Behind(Exception):
    """Raised between a trial's epochs where the pruner stops it."""

    def __init__(self, epoch: int, score: float):
        super().__init__(f"pruned at epoch {epoch}")
        self.epoch, self.score = epoch, score


class Objective:
    """One trial: sample, train a short adapt run, score its last epoch by --objective."""

    def __init__(self, optuna, opts: TuneOptions):
        self.optuna, self.opts = optuna, opts
        self.out = Path(opts.out)
        self.images = probe_images(opts)

    def __call__(self, trial) -> float:
        from advlab.train.config import AdaptConfig

        method = trial.suggest_categorical("method", self.opts.candidates())
        options = suggest(trial, method)
        name = f"{trial.number}-{method}"
        trial.set_user_attr("run_dir", f"trials/{name}")
        key = VALIDATORS[self.opts.objective]

        def report(record: dict[str, Any]) -> None:
            """Each epoch's score to the pruner; behind the others before the last epoch: stop."""
            score, epoch = record.get(key), record["epoch"]
            if score is None:
                return
            trial.report(score, epoch)
            if method != "source_only" and epoch < self.opts.trial_epochs and trial.should_prune():
                raise Behind(epoch, score)

        try:
            cfg = resolve(
                AdaptConfig, adapt_values(self.opts, method, options) | {"out": str(self.out / "trials" / name)}
            )
            history = self.train(cfg, name, report)
        except AdvlabError as e:
            trial.set_user_attr("error", str(e))
            self.say(trial, method, f"failed: {e}")
            raise
        except Behind as stop:
            said = (
                f"{self.opts.objective} {stop.score:.4f} at epoch {stop.epoch} of {self.opts.trial_epochs}, "
                "below the median of the earlier trials there"
            )
            trial.set_user_attr("pruned", said)
            trial.set_user_attr("pruned_at_epoch", stop.epoch)
            last = read_history(cfg.run_dir())[-1]
            trial.set_user_attr("target_acc", last.get("target_acc"))  # analysis only
            trial.set_user_attr("scores", {v: last.get(k) for v, k in VALIDATORS.items()})
            self.say(trial, method, f"pruned: {said}")
            raise self.optuna.TrialPruned() from None
        last = history[-1]
        trial.set_user_attr("target_acc", last.get("target_acc"))  # analysis only: never read to choose
        trial.set_user_attr("scores", {v: last.get(k) for v, k in VALIDATORS.items()})
        if last.get("degenerate"):
            trial.set_user_attr("degenerate", str(last["degenerate"]))
            self.say(trial, method, f"pruned: degenerate ({last['degenerate']})")
            raise self.optuna.TrialPruned()
        if last.get(key) is None:
            trial.set_user_attr("degenerate", f"{self.opts.objective} gave no score")
            self.say(trial, method, f"pruned: {self.opts.objective} gave no score")
            raise self.optuna.TrialPruned()
        predictions = self.out / "predictions"
        predictions.mkdir(exist_ok=True)
        probabilities = predict(cfg.run_dir(), self.images)
        atomic_write(predictions / f"{trial.number}.pt", lambda f: torch.save(probabilities, f))
        self.say(trial, method, f"{self.opts.objective} {last[key]:.4f}")
        return float(last[key])

    def train(self, cfg, name: str, after_epoch) -> list[dict[str, Any]]:
        """The run, its epoch lines in OUT/logs/<name>.log (the tune's own output stays one line a trial)."""
        from advlab.train.adapt import run_adapt

        logs = self.out / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{name}.log", "w") as log, contextlib.redirect_stdout(log):
            run_adapt(cfg, quiet=True, after_epoch=after_epoch)
        return read_history(cfg.run_dir())

    def say(self, trial, method: str, what: str) -> None:
        if not self.opts.quiet:
            print(f"trial {trial.number} {method}: {what}", flush=True)


def counted(trial) -> bool:
    """A trial that counts towards --trials: finished, pruned, or failed with its own error (not interrupted)."""
    state = trial.state.name
    return state in ("COMPLETE", "PRUNED") or (state == "FAIL" and "error" in trial.user_attrs)


def in_study(study) -> int:
    """Trials that count towards --trials, and those running now (another worker's)."""
    return sum(counted(t) or t.state.name == "RUNNING" for t in study.get_trials(deepcopy=False))


def mark_interrupted(study) -> None:
    """Trials a killed command left RUNNING (we hold the folder's lock: none is alive) become failed."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(trial._trial_id, "interrupted", "its command was stopped")
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)


def optimize(opts: TuneOptions, n_trials: int, worker: int = 0) -> None:
    """One worker: `n_trials` trials of the shared study (a worker process enters here)."""
    optuna = import_optuna()
    study = load_study(optuna, opts, worker)
    study.optimize(Objective(optuna, opts), n_trials=n_trials, catch=(AdvlabError,))


def _worker(opts: TuneOptions, n_trials: int, worker: int) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        optimize(opts, n_trials, worker)


def run_workers(opts: TuneOptions, n_trials: int) -> None:
    """`n_trials` trials over opts.jobs workers: here for one, else spawned processes sharing
    the study, or Slurm jobs (--launcher slurm)."""
    if opts.launcher == "slurm":
        from advlab.tune.slurm import run_slurm_workers

        run_slurm_workers(opts)
        return
    if opts.jobs == 1:
        optimize(opts, n_trials)
        return
    shares = [n_trials // opts.jobs + (i < n_trials % opts.jobs) for i in range(opts.jobs)]
    threads = opts.threads or max(1, (os.cpu_count() or 1) // opts.jobs)
    spawn = multiprocessing.get_context("spawn")
    workers = [
        spawn.Process(target=_worker, args=(TuneOptions(**(vars(opts) | {"threads": threads})), n, worker))
        for worker, n in enumerate(shares)
        if n
    ]
    for i, worker in enumerate(workers):
        if i:
            time.sleep(1)  # staggered: the first creates the study's tables before the others open them
        worker.start()
    try:
        for worker in workers:
            worker.join()
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()


def run_tune(opts: TuneOptions) -> dict[str, Any]:
    """Search, choose, report (and reproduce): the whole command. Returns the result report.py wrote."""
    from advlab.train.adapt import prepare_data
    from advlab.train.config import AdaptConfig
    from advlab.tune.report import choose, reproduce, write_report

    opts.check()
    optuna = import_optuna()
    if opts.launcher == "slurm":
        from advlab.report.slurm import environment_problem

        problem = opts.cluster.problem() or environment_problem()
        if problem:
            raise AdvlabError(problem)
    out = Path(opts.out)
    open_folder(out)
    for method in opts.candidates():  # every setting and both domains checked before anything is written
        resolve(AdaptConfig, adapt_values(opts, method, {}))
    prepare_data(resolve(AdaptConfig, adapt_values(opts, "source_only", {})), quiet=True)
    out.mkdir(parents=True, exist_ok=True)
    lock = lock_folder(out)
    try:
        if not (out / MARKER).exists():
            atomic_write(out / MARKER, "tune\n")
        check_same_study(out, opts.study_record())
        study = load_study(optuna, opts)
        mark_interrupted(study)
        if not study.trials:  # the baseline first, at adapt's defaults: the evidence for "do not adapt"
            study.enqueue_trial({"method": "source_only", "source_only.lr": AdaptConfig.lr})
        done = sum(counted(t) for t in study.get_trials(deepcopy=False))
        if done < opts.trials:
            run_workers(opts, opts.trials - done)
        elif not opts.quiet:
            print(f"{done} trials done already (--trials {opts.trials}): none to add")
        trials = load_study(optuna, opts).get_trials()
        result = choose(opts, trials)
        if opts.reproduce_seeds and result["best"]:
            result["reproduce"] = reproduce(opts, result["best"])
        write_report(opts, trials, result)
        return result
    finally:
        lock.close()
