"""--init names what is wrong with the run it points at (issue 21, defect 12)."""

from __future__ import annotations

import fcntl

from advlab.cli import main


def adapt(tiny_domains, out, *extra: str) -> int:
    source, target = tiny_domains
    argv = ["adapt", "--source", str(source), "--target", str(target), "--out", str(out), "--epochs", "1"]
    return main([*argv, "--batch-size", "32", "--val-size", "50", "--validation-size", "0", "--quiet", *extra])


def one_line(capsys) -> str:
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and said[0].startswith("advlab: error: "), said
    return said[0]


def test_init_at_a_gan_run_says_what_it_is_not_an_unknown_key(tiny_domains, tmp_path, capsys):
    gan = tmp_path / "gan"
    gan.mkdir()
    (gan / ".advlab-run").write_text("gan\n")
    (gan / "config.yaml").write_text("variant: conditional\nepochs: 1\n")
    assert adapt(tiny_domains, tmp_path / "pl", "--method", "pseudo_label", "--rounds", "1", "--init", str(gan)) == 2
    assert "is an advlab gan run, not an advlab adapt run" in one_line(capsys)  # was "unknown config key 'variant'"


def test_init_at_a_run_still_training_says_so_not_to_resume_it(tiny_domains, tmp_path, capsys):
    parent = tmp_path / "parent"
    assert adapt(tiny_domains, parent, "--method", "source_only") == 0
    capsys.readouterr()
    with open(parent / ".lock", "a") as held:  # as the training process holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert (
            adapt(tiny_domains, tmp_path / "pl", "--method", "pseudo_label", "--rounds", "1", "--init", str(parent))
            == 2
        )
    assert "is still training (epoch 1 of 1 done); wait for it to finish" in one_line(capsys)
