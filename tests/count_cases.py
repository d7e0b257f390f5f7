"""Count the suite's bad-input and fault cases (what README states), from pytest's own
collection: a case is one collected test (each parametrization counts), sorted by the words
its name uses. Run: python tests/count_cases.py [-v]"""

from __future__ import annotations

import re
import subprocess
import sys

BAD_INPUT = re.compile(
    r"error|refus|reject|bad|one_line|invalid|corrupt|missing|truncated|wrong_hash|utf8|bomb|garbage|huge|"
    r"checksum_mismatch|without_images|empty_class|symlink|outside|read_only|unknown|not_a|says_what|no_pickle|non_run"
)
FAULT = re.compile(
    r"kill|resume|sigterm|stopp|interrupt|full_disk|no_space|crash|nan|diverg|lock|stale|temporar|partial"
)


def main() -> int:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "tests"], capture_output=True, text=True
    ).stdout
    nodes = [line for line in listed.splitlines() if "::" in line]
    faults = [n for n in nodes if "tests/faults/" in n or FAULT.search(n.split("::")[-1].split("[")[0])]
    bad = [n for n in nodes if n not in faults and BAD_INPUT.search(n.split("::")[-1])]
    print(
        f"{len(nodes)} tests: {len(bad)} bad-input cases, {len(faults)} fault cases (kills, stops, resumes, full "
        "disk, NaN)"
    )
    if "-v" in sys.argv:
        print("\n".join(["", "bad input:", *bad, "", "faults:", *faults]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
