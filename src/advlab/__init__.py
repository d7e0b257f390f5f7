"""advlab: adversarial learning on images (domain adaptation, conditional GANs).

From Python: `advlab.adapt(...)` trains a run, `advlab.load(run_dir)` gives its model
(`predict`, `evaluate`, `export`); see advlab.api. The registries of methods and backbones
are `advlab.methods.METHODS` and `advlab.backbones.BACKBONES`.
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports them on first use
    from advlab.api import Model, adapt, load


def __getattr__(name: str):
    # the API loads torch; `import advlab` alone (the CLI's version line, tools) stays light
    if name in ("adapt", "load", "Model"):
        from advlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'advlab' has no attribute {name!r}")


__all__ = ["Model", "adapt", "load", "__version__"]
