"""The study's clock: time kept across invocations, and kept by an invocation that is killed."""

import json

from advlab.report.timing import FILE, StudyClock, read_timing, totals


def test_times_add_up_over_invocations_and_runs(tmp_path):
    first = StudyClock(tmp_path, jobs=2)
    first.record("a", "done", 30.0)
    first.record("b", "failed", 5.0)
    first.stop()
    second = StudyClock(tmp_path, jobs=1)
    second.record("a", "skipped", 0.0)
    second.record("b", "done", 12.5)
    second.stop()
    timing = read_timing(tmp_path)
    assert [i["jobs"] for i in timing["invocations"]] == [2, 1]
    assert [i["runs"] for i in timing["invocations"]] == [2, 1]  # a skipped run is not an execution
    t = totals(timing)
    assert t["invocations"] == 2 and t["per_run"] == {"a": 30.0, "b": 17.5} and t["run_seconds"] == 47.5
    assert t["wall_seconds"] == sum(i["seconds"] for i in timing["invocations"]) >= 0


def test_a_killed_invocation_keeps_what_it_had_done(tmp_path):
    clock = StudyClock(tmp_path, jobs=2)
    clock.record("a", "done", 30.0)  # ... and then the process is killed: no stop()
    on_disk = json.loads((tmp_path / FILE).read_text())
    assert on_disk["runs"][0]["run"] == "a" and on_disk["invocations"][0]["runs"] == 1
    assert not list(tmp_path.glob("*.partial"))


def test_no_file_means_no_time(tmp_path):
    assert totals(read_timing(tmp_path)) == {"wall_seconds": 0, "invocations": 0, "run_seconds": 0, "per_run": {}}
