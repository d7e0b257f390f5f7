"""YAML option files: a document that expands to a huge value, and values too long to show."""

from __future__ import annotations

from advlab.cli import main


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advlab: error: "), lines
    return lines[0]


def alias_bomb(key: str, levels: int, width: int) -> str:
    """`levels` nested lists of `width` aliases each under `key`: width**levels leaves from a few lines."""
    lines = [f"{key}:", "  - &a0 [x]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_under_a_known_key_is_refused_in_one_line(tmp_path, capsys):
    """Nine levels under mdd_margin wrote 2 GB of the value to stderr, then a MemoryError."""
    bomb = tmp_path / "bomb.yaml"
    # 9**5 leaves: enough to see the whole value printed, small enough to run unfixed
    bomb.write_text("method: mdd\n" + alias_bomb("mdd_margin", 5, 9))
    assert main(["adapt", "--config", str(bomb), "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert len(line) < 300 and "anchors and aliases" in line and str(bomb) in line


def test_a_huge_bad_value_is_shown_cut_short(tmp_path, capsys):
    long = tmp_path / "long.yaml"
    long.write_text("method: mdd\nmdd_margin: [" + ", ".join(["1"] * 100000) + "]\n")
    assert main(["adapt", "--config", str(long), "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert "config key 'mdd_margin' must be float" in line and len(line) < 300
    select = tmp_path / "select.yaml"
    select.write_text("select: " + "x" * 100000 + "\n")
    assert main(["adapt", "--config", str(select), "--out", str(tmp_path / "r")]) == 2
    line = error_line(capsys)
    assert "select must be one of" in line and len(line) < 400
