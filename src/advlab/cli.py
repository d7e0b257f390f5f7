"""The `advlab` command. Every user-fixable problem ends as one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sys
import threading
from pathlib import Path

from advlab.config import add_options, merge, resolve
from advlab.errors import AdvlabError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr, like every other error."""

    def error(self, message: str):
        print(f"advlab: error: {message} (see 'advlab --help')", file=sys.stderr)
        sys.exit(2)


def _add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML file of options; command-line values override it")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or notices; only one line per epoch")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("advlab")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from advlab.gan.config import GanConfig
    from advlab.gan.evaluate import MIN_EVAL_SAMPLES
    from advlab.gan.variants import PRACTICAL, VARIANTS
    from advlab.train.config import adapt_config

    parser = _Parser(
        prog="advlab", description="Adversarial learning on images: DANN domain adaptation and conditional GANs."
    )
    parser.add_argument("--version", action="version", version=f"advlab {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adapt = sub.add_parser(
        "adapt",
        help="unsupervised domain adaptation (DANN, CDAN, DAN, CORAL, MCC, MDD, MCD, ADDA, baselines), "
        "MNIST -> MNIST-M by default",
        description="Train on a labelled source domain, evaluate on an unlabelled target domain. "
        "Writes config.yaml, metrics.jsonl, summary.json and checkpoints to the run directory.",
    )
    add_options(adapt, adapt_config())  # every registered method's and backbone's options, plugins' too
    _add_run_flags(adapt)

    gan = sub.add_parser(
        "gan",
        help="DCGAN, cDCGAN and their variants; also 'advlab gan compare RUN_DIR...' and 'advlab gan eval RUN_DIR'",
        description="Train a (conditional) DCGAN. Writes losses.csv, sample grids, the z x y grid, loss curves, "
        "checkpoints and summary.json (with the quality metrics) to the run directory. "
        "See also 'advlab gan compare RUN_DIR...' and 'advlab gan eval RUN_DIR'.",
    )
    variant = gan.add_mutually_exclusive_group()
    variant.add_argument(
        "--variant",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="; ".join(f"{v.name}: {v.about}" for v in VARIANTS.values()) + " (default: conditional). "
        "--loss, --d-conditioning, --pack and --spectral-norm change one part of it",
    )
    for name in PRACTICAL:  # the practical's flags stay, as aliases of --variant NAME
        variant.add_argument(
            "--" + name.replace("_", "-"),
            dest="variant",
            action="store_const",
            const=name,
            default=argparse.SUPPRESS,
            help=f"--variant {name}",
        )
    add_options(gan, GanConfig, skip=("variant",))
    _add_run_flags(gan)

    compare = sub.add_parser(
        "gan-compare",
        prog="advlab gan compare",
        description="Loss dynamics of several GAN runs on one figure, and their samples side by side.",
    )
    compare.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    compare.add_argument(
        "--out",
        type=Path,
        default=Path("compare.png"),
        help="output prefix: writes <out>-losses.png and <out>-samples.png",
    )
    evaluate = sub.add_parser(
        "gan-eval",
        prog="advlab gan eval",
        description="Compute the quality metrics of a finished GAN run and add them to its summary.json "
        "(an unfinished one is refused: finish it with --resume first).",
    )
    evaluate.add_argument("run", type=Path, metavar="RUN_DIR")
    evaluate.add_argument(
        "--samples", type=int, default=10000, help=f"generated images, at least {MIN_EVAL_SAMPLES} (default: 10000)"
    )
    evaluate.add_argument(
        "--device", default="cpu", help="cpu, cuda or auto: where G and the evaluator run (default: cpu)"
    )

    classifier = sub.add_parser(
        "classifier",
        help="train and cache the LeNet evaluator of a data set, used by the GAN metrics",
        description="Train (once per data set, keyed by its content) the seeded LeNet classifier behind the GAN "
        "metrics (cond_acc, Fréchet distance, coverage, inception score) and cache it with its sha256; "
        "later runs on the same data reuse it. 'advlab gan' trains it on demand.",
    )
    classifier.add_argument(
        "--dataset",
        default="mnist",
        help="mnist (default), stacked_mnist (the same evaluator: Stacked-MNIST's metrics read each channel with "
        "MNIST's), mnist_m, an image folder or an .npz (as in advlab gan)",
    )
    classifier.add_argument(
        "--data-dir", help="where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)"
    )
    classifier.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    classifier.add_argument("--force", action="store_true", help="retrain even if a cached evaluator exists")
    classifier.add_argument("--device", default="cpu", help="cpu, cuda or auto: where it trains (default: cpu)")
    classifier.add_argument("--quiet", action="store_true", help="no progress bars")

    select = sub.add_parser(
        "select",
        help="which checkpoint each label-free validator picks in finished adapt runs (no retraining)",
        description="Read finished advlab adapt runs and print, per run and across them, "
        "the epoch each validator picks, "
        "its target accuracy, the last epoch's and the oracle's (analysis only), and each validator's "
        "weighted Spearman correlation with target accuracy. An unfinished run (no summary.json, fewer epochs "
        "recorded than configured) is left out with a warning naming it; a NaN score is never picked.",
    )
    select.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    select.add_argument("--by", nargs="+", metavar="NAME", help="validators to show (default: all recorded)")
    select.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")
    select.add_argument(
        "--figure",
        type=Path,
        metavar="PNG",
        help="also write score-against-accuracy plots to this file (.png, .pdf, .svg)",
    )

    predict = sub.add_parser(
        "predict",
        help="classify new images with a finished adapt run's model",
        description="Run a finished advlab adapt run's model on image files (any size and format Pillow reads), "
        "folders of them (recursive) and .npz archives (x, x_test, x_train), with the run's own preprocessing. "
        "Prints CSV, or writes --out (.csv or .jsonl): per image its input, class (the run's name for it), "
        "class_index, confidence, top_classes (names) and top_probabilities. An input that cannot be read is named "
        "on stderr and the rest are predicted; the exit status is then 1.",
    )
    predict.add_argument("run", type=Path, metavar="RUN_DIR")
    predict.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    predict.add_argument("--out", type=Path, help="a new .csv or .jsonl file (default: CSV on stdout)")
    predict.add_argument("--top-k", type=int, default=1, help="classes and probabilities per image (default: 1)")
    predict.add_argument(
        "--checkpoint",
        default="reported",
        help="reported (the run's --select choice, default), last, or best",
    )
    predict.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")

    evaluate = sub.add_parser(
        "evaluate",
        help="score a finished adapt run's model on any labelled domain",
        description="Accuracy, per-class accuracy and the confusion matrix of a finished advlab adapt run's model "
        "on a labelled domain (mnist, mnist_m, an image folder with train/ and test/, or an .npz), which may be "
        "one the run never saw; its images reach the model as the run's own did. Classes are said by the run's "
        "names; a domain whose data name its classes otherwise than the run's did is refused.",
    )
    evaluate.add_argument("run", type=Path, metavar="RUN_DIR")
    evaluate.add_argument("--domain", required=True, help="mnist, mnist_m, an image folder or an .npz")
    evaluate.add_argument("--split", default="test", help="test (default) or train")
    evaluate.add_argument("--checkpoint", default="reported", help="reported (default), last or best")
    evaluate.add_argument("--data-dir", help="where built-in data sets live (default: the run's, else $ADVLAB_DATA)")
    evaluate.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    evaluate.add_argument("--json", action="store_true", help="print the result as JSON")
    evaluate.add_argument("--figure", type=Path, metavar="PNG", help="also draw the confusion matrix (a new .png file)")

    export = sub.add_parser(
        "export",
        help="write a finished adapt run's model as ONNX or TorchScript",
        description="Write a finished advlab adapt run's evaluated model to a file that runs without advlab: uint8 "
        "images (N, C, S, S) at the backbone's input size and channels in, class logits out, normalisation "
        "inside, any batch size. The file is checked against advlab's own logits before it is kept.",
    )
    export.add_argument("run", type=Path, metavar="RUN_DIR")
    export.add_argument("--format", required=True, help="onnx (needs advlab[export]) or torchscript")
    export.add_argument("--out", required=True, type=Path, help="a new .onnx or .pt file")
    export.add_argument("--checkpoint", default="reported", help="reported (default), last or best")

    _add_tune_parser(sub)

    study = sub.add_parser(
        "reproduce",
        help="run the whole DANN + GAN study and write DIR/report.html and report.md",
        description="Run every experiment of the study (skipping finished runs, resuming unfinished ones), "
        "then write DIR/report.html (self-contained), DIR/report.md and DIR/figures/.",
    )
    study.add_argument(
        "--profile",
        choices=("quick", "full", "smoke"),
        default="quick",
        help="quick: minutes, subsets (default); full: the practicals' settings, 3 seeds; smoke: for tests",
    )
    study.add_argument("--out", type=Path, default=Path("study"), help="study directory (default: study)")
    study.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="local launcher: runs in parallel processes, sharing the cores (default: 1)",
    )
    study.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per run (default: the cores divided among the --jobs runs)",
    )
    study.add_argument(
        "--device",
        default=None,
        help="cpu, cuda or auto: where every run trains and the report's analysis embeds test images (default: cpu)",
    )
    study.add_argument(
        "--data-dir", help="where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)"
    )
    study.add_argument("--quiet", action="store_true", help="no line per finished run")
    study.add_argument(
        "--status-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a line naming the runs in flight and their epochs this often (default: 60)",
    )
    study.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: build the report from the runs finished so far, naming the others",
    )
    cluster = _cluster_group(
        study,
        "--launcher slurm submits each run as a Slurm job through submitit "
        "(pip install 'advlab[cluster]'); the same command again reuses finished runs, "
        "resumes stopped ones and never submits a queued one twice",
        "local: runs here, --jobs at a time (default); slurm: one Slurm job per run",
        "run",
    )
    cluster.add_argument(
        "--array-limit", type=int, metavar="N", help="at most N jobs of one submission at once (default: 64)"
    )
    cluster.add_argument(
        "--no-wait", action="store_true", help="submit and return; the same command later waits and builds the report"
    )
    return parser


def _add_tune_parser(sub) -> None:
    from advlab.methods import METHODS
    from advlab.train.validation import VALIDATORS
    from advlab.tune import DEFAULT_METHODS

    tune = sub.add_parser(
        "tune",
        help="choose a method and its settings for one pair without target labels (Optuna; pip install 'advlab[tune]')",
        description="Search each method's declared space with short advlab adapt trials scored by a label-free "
        "validator (Optuna, TPE, study in OUT/study.db: the same command again resumes it), choose among the "
        "finished trials (source_only always a candidate: the answer can be 'do not adapt'), and write "
        "OUT/best.yaml (for advlab adapt --config), trials.md, trials.json and scores.png.",
    )
    tune.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help="comma-separated methods to search, "
        f"of {', '.join(METHODS)} (default: {','.join(DEFAULT_METHODS)}; source_only is always added)",
    )
    tune.add_argument("--trials", type=int, default=12, help="trials in the study in all (default: 12)")
    tune.add_argument(
        "--by",
        default="ensv",
        help="what chooses among the finished trials: ensv (agreement with the "
        f"ensemble of all of them) or a validator, {', '.join(VALIDATORS)} (default: ensv)",
    )
    tune.add_argument(
        "--objective",
        default=None,
        help="the validator Optuna maximises in each trial "
        "(default: --by, or class_ami with --by ensv, which scores no single trial)",
    )
    tune.add_argument("--source", default="mnist", help="labelled source domain, as in advlab adapt (default: mnist)")
    tune.add_argument("--target", default="mnist_m", help="target domain, as in advlab adapt (default: mnist_m)")
    tune.add_argument(
        "--backbone", default="ganin", help="the network of every trial, as in advlab adapt (default: ganin)"
    )
    tune.add_argument(
        "--geometry", default="crop", help="how images reach the backbone's size, as in advlab adapt (default: crop)"
    )
    tune.add_argument("--data-dir", help="where built-in data sets live (else $ADVLAB_DATA, else ~/.cache/advlab/data)")
    tune.add_argument("--out", default="tune", help="tune folder (default: tune)")
    tune.add_argument("--trial-epochs", type=int, default=3, help="epochs of each trial (default: 3)")
    tune.add_argument(
        "--trial-subset",
        type=int,
        default=10000,
        help="training images per domain of each trial (default: 10000)",
    )
    tune.add_argument("--batch-size", type=int, default=64, help="images per domain per step (default: 64)")
    tune.add_argument("--val-size", type=int, default=1000, help="source validation images (default: 1000)")
    tune.add_argument(
        "--validation-size", type=int, default=1000, help="target images the validators score (default: 1000)"
    )
    tune.add_argument("--seed", type=int, default=0, help="seed of the trials and of the sampler (default: 0)")
    tune.add_argument("--jobs", type=int, default=1, help="worker processes sharing the study (default: 1)")
    tune.add_argument("--threads", type=int, help="CPU threads per trial (default: the cores divided among --jobs)")
    tune.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    tune.add_argument(
        "--reproduce-seeds",
        type=int,
        default=0,
        help="rerun the choice at full budget for seeds 0..K-1 "
        "into OUT/reproduce/s<seed>/ and report mean ± std (default: 0, none)",
    )
    tune.add_argument("--quiet", action="store_true", help="no line per trial")
    _cluster_group(
        tune,
        "--launcher slurm runs the --jobs workers as Slurm jobs through submitit (pip install 'advlab[cluster]'), "
        "sharing the study in OUT/study.journal; the command waits for them, then chooses and reports",
        "local: the workers are processes here (default); slurm: each worker a Slurm job",
        "worker",
    )


def _cluster_group(parser, about: str, launcher_help: str, job: str):
    """The cluster flags of reproduce (a Slurm job per run) and tune (a job per worker):
    --launcher, what each job asks for, and how often the waiting command polls."""
    group = parser.add_argument_group("cluster", about)
    group.add_argument("--launcher", choices=("local", "slurm"), default="local", help=launcher_help)
    group.add_argument("--partition", help="Slurm partition (default: the cluster's default)")
    group.add_argument(
        "--time-limit", type=int, metavar="MIN", help=f"minutes per job (default: 240); a longer {job} is requeued"
    )
    group.add_argument(
        "--cpus-per-run", type=int, metavar="N", help=f"CPUs per job, also the {job}'s threads (default: 2)"
    )
    group.add_argument("--gpus-per-run", type=int, metavar="N", help="GPUs per job (default: 0; add --device cuda)")
    group.add_argument(
        "--poll-every",
        type=float,
        metavar="SECONDS",
        help="how often the waiting command asks Slurm which jobs are over (default: 10)",
    )
    return group


CLUSTER_FLAGS = {
    "partition": "partition",
    "time_limit": "time_limit_min",
    "cpus_per_run": "cpus_per_run",
    "gpus_per_run": "gpus_per_run",
    "array_limit": "array_limit",
    "poll_every": "poll_seconds",
}


def _tune_cluster_options(args: argparse.Namespace):
    """advlab tune's SlurmOptions (with --launcher slurm), or None; its workers are --jobs jobs,
    each with --cpus-per-run threads, so --threads is a local flag there."""
    from advlab.report.slurm import SlurmOptions

    given = {flag: getattr(args, flag) for flag in CLUSTER_FLAGS if getattr(args, flag, None) is not None}
    if args.launcher == "local":
        if given:
            stray = ", ".join("--" + f.replace("_", "-") for f in given)
            raise AdvlabError(f"{stray} only apply with --launcher slurm")
        return None
    if args.threads is not None:
        raise AdvlabError("--threads is for the local launcher; with --launcher slurm use --cpus-per-run")
    return SlurmOptions(**{CLUSTER_FLAGS[f]: v for f, v in given.items()})


def _cluster_options(args: argparse.Namespace):
    """SlurmOptions from the flags given; a cluster flag without --launcher slurm, or --jobs
    with it, is a mistake worth one line rather than being ignored."""
    from advlab.report.slurm import SlurmOptions

    given = {flag: getattr(args, flag) for flag in CLUSTER_FLAGS if getattr(args, flag) is not None}
    if args.launcher == "local":
        stray = [f"--{f.replace('_', '-')}" for f in given] + (["--no-wait"] if args.no_wait else [])
        if stray:
            raise AdvlabError(f"{', '.join(stray)} only apply with --launcher slurm")
        return None
    if args.jobs is not None or args.threads is not None:
        raise AdvlabError(
            "--jobs and --threads are for the local launcher; with --launcher slurm use --array-limit and "
            "--cpus-per-run"
        )
    return SlurmOptions(**{CLUSTER_FLAGS[f]: v for f, v in given.items()}, wait=not args.no_wait)


def _metrics_line(m: dict) -> str:
    parts = [
        f"{k} {m[k]:.4g}"
        for k in (
            "cond_acc",
            "fid_lenet",
            "fid_floor",
            "coverage",
            "kl_uniform",
            "inception_score",
            "modes",
            "kl_modes",
        )
        if m.get(k) is not None
    ]
    return ", ".join(parts) or "no metrics"


def _options(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("command", "config", "resume", "quiet")}


def _run_config(cls: type, args: argparse.Namespace, read):
    """The run's options: defaults < YAML (--config) < command line; on --resume of an
    existing run, its own config.yaml (read by `read`) comes first, so that the command
    line names only what changes (and the trainer's check names what would change the run)."""
    from advlab.runs.engine import saved_options

    options = _options(args)
    base = saved_options(cls(**merge(cls, options, args.config)).run_dir(), read) if args.resume else None
    return resolve(cls, options, args.config, base)


def _device(name: str):
    """The torch device a --device option names, or one line saying why it cannot be had."""
    from advlab.runs.hardware import device_problem, resolve_device

    problem = device_problem(name)
    if problem:
        raise AdvlabError(problem)
    return resolve_device(name)


class Terminated(KeyboardInterrupt):
    """SIGTERM taken like Ctrl-C: the command stops in order (a study stops its runs too)
    instead of dying at once and leaving its child processes running."""


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


# The machine refusing a write (a read-only mount, no permission, a full disk or quota) is
# the user's to fix, not a bug: one line naming the path, exit 2.
WHERE_WE_WRITE_ERRORS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] in (["gan", "compare"], ["gan", "eval"]):
        argv = [f"gan-{argv[1]}", *argv[2:]]
    args = build_parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()  # where signal handlers may be set
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if in_main_thread else None
    try:
        if args.command == "adapt":
            from advlab.train.adapt import run_adapt
            from advlab.train.config import adapt_config, recorded_options, refuse_foreign_options

            cfg = _run_config(adapt_config(), args, recorded_options)
            refuse_foreign_options(cfg.method, _options(args), cfg.backbone)  # even at its default: it does nothing
            summary = run_adapt(cfg, resume=args.resume, quiet=args.quiet)
            if summary is not None:  # None: a rank other than 0 of a torchrun job, which reports nothing
                print(
                    f"done: target accuracy {summary['target_acc']:.4f}, source accuracy {summary['source_acc']:.4f} "
                    f"-> {cfg.run_dir()}"
                )
        elif args.command == "gan":
            from advlab.gan.config import GanConfig, recorded_options
            from advlab.gan.train import run_gan

            cfg = _run_config(GanConfig, args, recorded_options)
            summary = run_gan(cfg, resume=args.resume, quiet=args.quiet)
            said = _metrics_line(summary) if "no_metrics" not in summary else f"no metrics ({summary['no_metrics']})"
            print(f"done: {said} -> {cfg.run_dir()}")
        elif args.command == "gan-compare":
            from advlab.gan.compare import compare_runs

            for path in compare_runs(args.runs, args.out):
                print(f"wrote {path}")
        elif args.command == "gan-eval":
            from advlab.data.domains import load_domain
            from advlab.gan.evaluate import (
                add_metrics,
                check_samples,
                evaluate_run,
                finished_generator,
                holding_run,
                read_summary,
                unscorable,
            )
            from advlab.gan.evaluator import data_fingerprint

            check_samples(args.samples, "--samples")
            device = _device(args.device)
            with holding_run(args.run):
                g, cfg = finished_generator(args.run)
                g = g.to(device)
                summary = read_summary(args.run)
                learned = summary.get("data_fingerprint")
                if learned and learned != (
                    now := data_fingerprint(load_domain(cfg.dataset, cfg.data_dir, quiet=True).train)
                ):
                    raise AdvlabError(
                        f"{args.run}: the GAN learned other data than {cfg.dataset} holds now (fingerprint {learned}, "
                        f"now {now}); "
                        "its metrics would be another data set's"
                    )
                why = unscorable(g, cfg.dataset, cfg.data_dir)
                if why:
                    raise AdvlabError(f"{args.run}: cannot score this GAN: {why}")
                metrics = evaluate_run(g, cfg.dataset, cfg.data_dir, args.samples, cfg.seed, learned, device)
                add_metrics(args.run, summary, metrics)
            print(_metrics_line(metrics))
        elif args.command == "classifier":
            from advlab.gan.evaluator import build_evaluator

            # Stacked-MNIST's metrics read each channel with MNIST's evaluator: a 1000-class one would never be used
            dataset = "mnist" if args.dataset == "stacked_mnist" else args.dataset
            record = build_evaluator(
                args.data_dir,
                args.seed,
                force=args.force,
                quiet=args.quiet,
                dataset=dataset,
                device=_device(args.device),
            )
            print(
                f"evaluator of {dataset}: test accuracy {record['test_acc']:.4f}, sha256 {record['sha256'][:16]}... "
                f"-> {record['path']}"
            )
        elif args.command == "select":
            from advlab.report.selection import check_figure_path, figure, select, table, to_json

            if args.figure:
                check_figure_path(args.figure)
            result = select(args.runs, args.by)
            for why in result.get("unfinished", []):
                print(f"advlab: warning: {why}; left out", file=sys.stderr)
            # the figure before the table: a figure that cannot be written leaves one error line, no table
            wrote = figure(result, args.runs, args.figure) if args.figure else None
            print(to_json(result) if args.json else table(result))
            if wrote:
                print(f"wrote {wrote}", file=sys.stderr if args.json else sys.stdout)
        elif args.command == "evaluate":
            from advlab.evaluate import confusion_figure, evaluate, table

            if args.figure is not None and (args.figure.suffix != ".png" or args.figure.exists()):
                raise AdvlabError(f"--figure must name a new .png file, got {args.figure}")
            if args.figure is not None and not args.figure.parent.is_dir():
                raise AdvlabError(f"--figure {args.figure}: no folder {args.figure.parent}")
            result = evaluate(args.run, args.domain, args.split, args.checkpoint, args.data_dir, _device(args.device))
            print(json.dumps(result) if args.json else table(result))
            if args.figure is not None:
                print(f"wrote {confusion_figure(result, args.figure)}", file=sys.stderr)
        elif args.command == "export":
            from advlab.export import export

            result = export(args.run, args.format, args.out, args.checkpoint)
            checked = (
                "not checked (onnxruntime is not installed)"
                if result["max_abs_difference"] is None
                else f"checked: largest difference from advlab's logits {result['max_abs_difference']:.2g}"
            )
            print(f"wrote {result['out']} ({result['format']}; input {result['input']}; {checked})")
        elif args.command == "predict":
            from advlab.predict import predict, write_rows

            if args.out is not None and args.out.suffix not in (".csv", ".jsonl"):
                raise AdvlabError(f"--out must name a .csv or .jsonl file, got {args.out}")
            if args.out is not None and args.out.exists():
                raise AdvlabError(f"--out {args.out} exists; advlab never overwrites a file (choose a new name)")
            rows, failures = predict(args.run, args.inputs, args.top_k, args.checkpoint, _device(args.device))
            for why in failures:
                print(f"advlab: skipped {why}", file=sys.stderr)
            write_rows(rows, args.out)
            if args.out is not None:
                print(f"wrote {len(rows)} predictions to {args.out}", file=sys.stderr)
            return 1 if failures else 0
        elif args.command == "tune":
            from advlab.tune.study import TuneOptions, run_tune

            cluster = _tune_cluster_options(args)
            options = {k: v for k, v in vars(args).items() if k != "command" and k not in CLUSTER_FLAGS}
            options["cluster"] = cluster
            options["methods"] = [m.strip() for m in args.methods.split(",") if m.strip()]
            options["objective"] = args.objective or (args.by if args.by != "ensv" else "class_ami")
            result = run_tune(TuneOptions(**options))
            print(result["verdict"])
            if result["best"]:
                print(f"wrote {Path(args.out) / 'best.yaml'}, trials.md, trials.json, scores.png")
            if "reproduce" in result:
                r = result["reproduce"]
                print(f"reproduced, seeds {r['seeds']}: {r['validator']} {r['score_mean']:.4f} ± {r['score_std']:.4f}")
        elif args.command == "reproduce":
            from advlab.report.reproduce import reproduce

            cluster = _cluster_options(args)
            result = reproduce(
                args.profile,
                args.out,
                1 if args.jobs is None else args.jobs,
                args.data_dir,
                args.quiet,
                args.threads,
                args.device,
                launcher=args.launcher,
                cluster=cluster,
                report_only=args.report_only,
                status_every=args.status_every,
            )
            if result.page is None:  # --no-wait with runs still in the queue
                print(
                    f"{len(result.unfinished)} of {result.planned} runs queued or running as Slurm jobs; "
                    f"run the same command again to wait for them and write the report"
                )
                return 0
            print(f"wrote {result.page} and {result.md}")
            if result.failures:  # the report is written (it shows them), but the study is not whole
                print(
                    f"advlab: {len(result.failures)} of {result.planned} runs failed (listed in {result.page.name}; "
                    "each keeps its error in runs/NAME/failed.txt)",
                    file=sys.stderr,
                )
            if result.unfinished:
                print(
                    f"advlab: {len(result.unfinished)} of {result.planned} runs not finished; the report is partial "
                    "(it names them); run the study's command again to finish them",
                    file=sys.stderr,
                )
            if result.failures or result.unfinished:
                return 1
        return 0
    except AdvlabError as e:
        print(f"advlab: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno not in WHERE_WE_WRITE_ERRORS:
            raise  # anything else is a bug to see whole
        where = f"{e.filename}: " if e.filename else ""
        hint = (
            "free some space, then resume"
            if e.errno in (errno.ENOSPC, errno.EDQUOT)
            else "choose a folder you can write to"
        )
        print(f"advlab: error: {where}{e.strerror.lower()}; {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        again = "run the same command again to go on" if args.command == "reproduce" else "resume with --resume"
        print(f"advlab: {'terminated' if isinstance(e, Terminated) else 'interrupted'}; {again}", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
