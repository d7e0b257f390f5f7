"""Build advlab's API reference from its docstrings with pdoc, every pdoc warning an error.

    pip install -e ".[docs]"
    python docs/build_api.py --out docs/api      # then open docs/api/index.html

The reference covers what a user of the Python API, a plugin author or a reader of the methods
calls or subclasses: `advlab.api` (adapt, load, Model), the method and backbone registries with
one page per method and backbone, `advlab.plugins`, the metrics and validators, and the GAN
games and variants. CI builds it on every change (.ci/run), so a docstring pdoc cannot read, or a
public name that does not resolve, fails there.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from pathlib import Path

PACKAGES = ("advlab.methods", "advlab.backbones", "advlab.metrics", "advlab.gan.games")
MODULES = ("advlab.api", "advlab.plugins", "advlab.gan.variants")


def modules() -> list[str]:
    """The documented modules: MODULES, each package of PACKAGES and every module inside it
    (pdoc walks a package's modules itself unless its __all__ leaves them out, as the
    registries' do: then they are named here)."""
    found = list(MODULES)
    for name in PACKAGES:
        package = importlib.import_module(name)
        found.append(name)
        if hasattr(package, "__all__"):
            found += [m.name for m in pkgutil.iter_modules(package.__path__, prefix=f"{name}.")]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the HTML (made if missing)")
    args = parser.parse_args()
    import pdoc

    warnings.filterwarnings("error", module=r"pdoc(\..*)?")  # pdoc's own warnings; not those of torch's imports
    names = modules()
    pdoc.render.configure(docformat="markdown", footer_text="advlab API reference")
    pdoc.pdoc(*names, output_directory=args.out)
    print(f"wrote the API reference of {len(names)} modules to {args.out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
