"""What every advlab process pays before it does anything: its imports. The suite and a study
start hundreds of processes, most of which never score a validator or draw a figure."""

import subprocess
import sys


def test_the_command_line_loads_no_scikit_learn_or_matplotlib_until_it_needs_them():
    # scikit-learn alone took 2.2 s of a 10 s smoke run's start (train.validation imported it for
    # its option list); matplotlib is loaded by the commands that draw
    probe = (
        "import sys, advlab.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('sklearn', 'scipy', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
