"""`advlab tune` end to end on tiny domains: files, resume, degenerate trials, bad input."""

from __future__ import annotations

import json
import sys

import pytest

from advlab.cli import main
from advlab.config import resolve
from advlab.methods import METHODS
from advlab.train.config import AdaptConfig
from advlab.tune.space import options_of, suggest
from advlab.tune.study import tunable

optuna = pytest.importorskip("optuna")

TINY = ["--trial-epochs", "1", "--trial-subset", "200", "--batch-size", "16", "--val-size", "50"]
TINY += ["--validation-size", "50", "--threads", "1", "--quiet"]


def tune(tiny_domains, out, *extra: str) -> int:
    source, target = tiny_domains
    return main(["tune", "--source", str(source), "--target", str(target), "--out", str(out), *TINY, *extra])


def one_line_error(capsys, rc: int, fragment: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("advlab: error:") and fragment in err[0], err


def test_search_space_of_every_method_samples_valid_configs():
    for name, method in METHODS.items():
        assert set(method.search_space) <= {f.name for f in AdaptConfig.__dataclass_fields__.values()}, name
    for method in tunable():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(25):
            trial = study.ask()
            trial.suggest_categorical("method", [method])
            values = suggest(trial, method)
            study.tell(trial, 0.0)
            assert options_of(trial.params) == {"method": method, **values}
            resolve(AdaptConfig, {"method": method, **values})  # validate() passes


def rewrite_last_record(monkeypatch, change) -> None:
    """advlab adapt as it is, then `change(cfg, record)` edits the last record of metrics.jsonl."""
    import advlab.train.adapt as adapt

    real = adapt.run_adapt

    def run_adapt(cfg, resume=False, quiet=False, after_epoch=None):
        summary = real(cfg, resume=resume, quiet=quiet, after_epoch=after_epoch)
        path = cfg.run_dir() / "metrics.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        change(cfg, records[-1])
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        return summary

    monkeypatch.setattr(adapt, "run_adapt", run_adapt)


@pytest.fixture
def healthy(monkeypatch):
    """One epoch on 200 tiny images is degenerate by adapt's own check (near chance): the
    plumbing is tested here, so every trial's last epoch is declared healthy."""
    rewrite_last_record(monkeypatch, lambda cfg, record: record.update(degenerate=None))


def test_tune_writes_its_files_and_resume_adds_a_trial(tiny_domains, tmp_path, capsys, healthy):
    out = tmp_path / "tune"
    assert tune(tiny_domains, out, "--methods", "dann", "--trials", "3") == 0
    for name in ("study.db", "trials.md", "trials.json", "scores.png", "best.yaml", ".advlab-tune"):
        assert (out / name).is_file(), name
    result = json.loads((out / "trials.json").read_text())
    assert [r["number"] for r in result["rows"]] == [0, 1, 2]
    assert result["rows"][0]["method"] == "source_only" and {r["method"] for r in result["rows"]} <= {
        "source_only",
        "dann",
    }
    assert result["best"] and result["verdict"].split(":")[0] in ("adapt", "do not adapt")
    assert "analysis only" in (out / "trials.md").read_text()
    said = json.loads((out / "summary.json").read_text())  # written last: `advlab reproduce` skips it by this
    assert said["command"] == "tune" and said["verdict"] == result["verdict"] and sum(said["trials"].values()) == 3
    assert said["best"]["method"] == result["best"]["method"] and said["degenerate_trials"] == 0
    cfg = resolve(AdaptConfig, {}, out / "best.yaml")  # what `advlab adapt --config OUT/best.yaml` takes
    assert cfg.method == result["best"]["method"] and cfg.epochs == AdaptConfig().epochs
    before = {p.name: p.stat().st_mtime_ns for p in (out / "trials").glob("*/metrics.jsonl") for p in [p.parent]}

    assert tune(tiny_domains, out, "--methods", "dann", "--trials", "4") == 0
    rows = json.loads((out / "trials.json").read_text())["rows"]
    assert [r["number"] for r in rows] == [0, 1, 2, 3] and all(r["state"] == "complete" for r in rows)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "trials").iterdir()}
    assert len(after) == 4 and all(after[name] == mtime for name, mtime in before.items())  # reused, not rerun


def test_degenerate_trial_is_pruned_and_never_chosen(tiny_domains, tmp_path, monkeypatch):
    def change(cfg, record):  # dann's last epoch flagged degenerate while it scores best of all
        record["degenerate"] = "one class predicted" if cfg.method == "dann" else None
        if cfg.method == "dann":
            record["val_class_ami"] = 1.0

    rewrite_last_record(monkeypatch, change)
    out = tmp_path / "tune"
    assert tune(tiny_domains, out, "--methods", "dann", "--trials", "3", "--by", "class_ami") == 0
    result = json.loads((out / "trials.json").read_text())
    dann = [r for r in result["rows"] if r["method"] == "dann"]
    assert dann and all(r["state"] == "pruned" and r["degenerate"] == "one class predicted" for r in dann)
    assert result["best"]["method"] == "source_only" and result["adapt"] is False
    assert "one class predicted" in (out / "trials.md").read_text()


@pytest.mark.e2e  # six short training runs
def test_a_trial_behind_the_others_stops_at_that_epoch_and_is_never_chosen(tiny_domains, tmp_path, monkeypatch):
    """The pruner is made to call every trial behind: the adapted ones stop after their first
    of two epochs, stopped runs with a checkpoint; source_only, the baseline, runs to its end."""
    import advlab.train.adapt as adapt

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)
    monkeypatch.setattr(adapt, "check_degeneracy", lambda *args: None)  # tiny runs near chance: not what is tested
    out = tmp_path / "tune"
    assert tune(tiny_domains, out, "--methods", "dann", "--trials", "3", "--trial-epochs", "2") == 0
    rows = json.loads((out / "trials.json").read_text())["rows"]
    dann = [r for r in rows if r["method"] == "dann"]
    assert dann and all(r["state"] == "pruned" and r["pruned_at_epoch"] == 1 for r in dann)
    said = [r["pruned"] for r in dann]
    assert all(s.startswith("class_ami ") and "at epoch 1 of 2, below the median" in s for s in said), said
    for r in dann:
        run = out / r["run_dir"]
        assert len((run / "metrics.jsonl").read_text().splitlines()) == 1 and not (run / "summary.json").exists()
    baseline = [r for r in rows if r["method"] == "source_only"]
    assert baseline and all(r["state"] == "complete" for r in baseline)
    result = json.loads((out / "trials.json").read_text())
    assert result["best"]["method"] == "source_only"
    assert "below the median of the earlier trials there" in (out / "trials.md").read_text()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--methods", "dann,nope"], "unknown method 'nope'"),
        (["--methods", "target_only"], "reads target labels"),
        (["--by", "oracle"], "unknown validator 'oracle'"),
        (["--trials", "0"], "--trials must be >= 1"),
        (["--jobs", "0"], "--jobs must be >= 1"),
    ],
)
def test_tune_bad_option_is_one_line_error(tiny_domains, tmp_path, capsys, extra, fragment):
    one_line_error(capsys, tune(tiny_domains, tmp_path / "tune", *extra), fragment)
    assert not (tmp_path / "tune").exists()


def test_tune_refuses_a_folder_of_other_files(tiny_domains, tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("a user's file")
    one_line_error(capsys, tune(tiny_domains, tmp_path), "holds files advlab did not write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_tune_missing_source_is_one_line_error(tiny_domains, tmp_path, capsys):
    source, target = tiny_domains
    rc = main(["tune", "--source", str(tmp_path / "none.npz"), "--target", str(target), "--out", str(tmp_path / "t")])
    one_line_error(capsys, rc, "none.npz")
    assert not (tmp_path / "t").exists()


def test_tune_without_optuna_is_one_line_error_saying_what_to_install(tiny_domains, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now raises ImportError
    one_line_error(capsys, tune(tiny_domains, tmp_path / "t"), "pip install 'advlab[tune]'")


def test_reproduce_seeds_reruns_the_choice_per_seed_and_reuses_finished_reruns(
    tiny_domains, tmp_path, monkeypatch, healthy
):
    import advlab.tune.report as report

    real = report.best_values
    monkeypatch.setattr(report, "best_values", lambda opts, best: real(opts, best) | {"epochs": 2})  # not 12: a test
    out = tmp_path / "tune"
    assert tune(tiny_domains, out, "--methods", "dann", "--trials", "2", "--reproduce-seeds", "2") == 0
    result = json.loads((out / "trials.json").read_text())
    again = result["reproduce"]
    assert again["seeds"] == [0, 1] and len(again["scores"]) == 2 and again["score_mean"] is not None
    assert "target_acc_mean_analysis_only" in again  # target accuracy is reported apart, never chosen by
    for seed in (0, 1):
        summary = json.loads((out / "reproduce" / f"s{seed}" / "summary.json").read_text())
        assert summary["seed"] == seed and summary["method"] == result["best"]["method"] and summary["epochs"] == 2
    written = {s: (out / "reproduce" / f"s{s}" / "metrics.jsonl").stat().st_mtime_ns for s in (0, 1)}
    assert tune(tiny_domains, out, "--methods", "dann", "--trials", "2", "--reproduce-seeds", "2") == 0
    assert {s: (out / "reproduce" / f"s{s}" / "metrics.jsonl").stat().st_mtime_ns for s in (0, 1)} == written


def test_a_study_stays_in_the_storage_it_began_in(tiny_domains, tmp_path, capsys):
    """A folder whose study Slurm workers keep in OUT/study.journal (tests/report/
    test_slurm_launcher.py runs them) is refused to the local launcher, whose study is SQLite."""
    from advlab.config import to_yaml
    from advlab.report.slurm import SlurmOptions
    from advlab.tune.study import MARKER, TuneOptions

    source, target = tiny_domains
    out = tmp_path / "tune"
    local = dict(methods=["dann"], source=str(source), target=str(target), out=str(out), trial_epochs=1)
    local |= dict(trial_subset=200, batch_size=16, val_size=50, validation_size=50)
    on_slurm = TuneOptions(**local, launcher="slurm", cluster=SlurmOptions())
    out.mkdir()
    (out / MARKER).write_text("tune\n")
    (out / "tune.yaml").write_text(to_yaml(on_slurm.study_record()))
    one_line_error(capsys, tune(tiny_domains, out, "--methods", "dann"), "storage 'study.journal' -> 'study.db'")
    assert sorted(p.name for p in out.iterdir()) == [".advlab-tune", ".lock", "tune.yaml"]  # nothing else made


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--partition", "cpu"], "--partition only apply with --launcher slurm"),
        (["--launcher", "slurm", "--threads", "2"], "--threads is for the local launcher"),
        (["--launcher", "slurm", "--poll-every", "0"], "--poll-every must be > 0 seconds and finite"),
    ],
)
def test_tune_bad_cluster_option_is_one_line_error(tiny_domains, tmp_path, capsys, monkeypatch, extra, fragment):
    from advlab.report import slurm

    monkeypatch.setattr(slurm, "environment_problem", lambda: None)
    source, target = tiny_domains
    argv = ["tune", "--source", str(source), "--target", str(target), "--out", str(tmp_path / "t"), *extra]
    one_line_error(capsys, main(argv), fragment)
    assert not (tmp_path / "t").exists()
