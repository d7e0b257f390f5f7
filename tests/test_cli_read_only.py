"""Every command whose output lands on a read-only file system says so in one line (exit 2)
instead of a traceback, and leaves what it could read untouched."""

from __future__ import annotations

from advlab.cli import main
from tests_helpers import assert_one_line_error, run_cli


def tiny_gan(tiny_domains, out) -> None:
    assert (
        main(
            [
                "gan",
                "--dataset",
                str(tiny_domains[0]),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--batch-size",
                "100",
                "--g-width",
                "8",
                "--d-width",
                "4",
                "--eval-samples",
                "0",
                "--threads",
                "1",
                "--quiet",
            ]
        )
        == 0
    )


def test_adapt_and_gan_into_a_read_only_folder(tiny_domains, read_only_dir):
    source, target = tiny_domains
    result = run_cli(
        "adapt",
        "--source",
        str(source),
        "--target",
        str(target),
        "--out",
        str(read_only_dir / "run"),
        "--val-size",
        "50",
        "--epochs",
        "1",
        "--quiet",
    )
    assert_one_line_error(result, "ead-only file system")  # the run engine's own message names the folder
    result = run_cli("gan", "--dataset", str(source), "--out", str(read_only_dir / "gan"), "--epochs", "1", "--quiet")
    assert_one_line_error(result, "ead-only file system")


def test_reproduce_and_gan_compare_into_a_read_only_folder(tiny_domains, tmp_path, read_only_dir):
    assert_one_line_error(
        run_cli("reproduce", "--profile", "smoke", "--out", str(read_only_dir / "study")),
        f"{read_only_dir / 'study'}: read-only file system; choose a folder you can write to",
    )
    tiny_gan(tiny_domains, tmp_path / "g")
    before = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert_one_line_error(
        run_cli("gan", "compare", str(tmp_path / "g"), "--out", str(read_only_dir / "cmp.png")), "read-only file system"
    )
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == before
