"""`python -m advlab`: the `advlab` command, for an environment whose scripts are not on PATH."""

import sys

from advlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
