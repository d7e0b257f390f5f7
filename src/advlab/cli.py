"""The `advlab` command. Every user-fixable problem ends as one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys

from advlab.config import add_options, resolve
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


def build_parser() -> argparse.ArgumentParser:
    from advlab.train.adapt import AdaptConfig

    parser = _Parser(prog="advlab", description="Adversarial learning on images: DANN domain adaptation and conditional GANs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adapt = sub.add_parser(
        "adapt",
        help="unsupervised domain adaptation (DANN and baselines), MNIST -> MNIST-M by default",
        description="Train on a labelled source domain, evaluate on an unlabelled target domain. "
        "Writes config.yaml, metrics.jsonl, summary.json and checkpoints to the run directory.",
    )
    add_options(adapt, AdaptConfig)
    _add_run_flags(adapt)
    return parser


def _options(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("command", "config", "resume", "quiet")}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "adapt":
            from advlab.train.adapt import AdaptConfig, run_adapt

            cfg = resolve(AdaptConfig, _options(args), args.config)
            summary = run_adapt(cfg, resume=args.resume, quiet=args.quiet)
            print(f"done: target accuracy {summary['target_acc']:.4f}, source accuracy {summary['source_acc']:.4f} -> {cfg.run_dir()}")
        return 0
    except AdvlabError as e:
        print(f"advlab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("advlab: interrupted; resume with --resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
