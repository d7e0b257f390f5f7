"""Domain-adaptation methods, one file each; this registry is the only list of them.

Adding a method: write `methods/<name>.py` with a `Method` subclass, add it to
`METHODS` below, and add `tests/methods/test_<name>.py`. Its options appear as --flags of
`advlab adapt` and in config.yaml by themselves. A method from outside advlab (another package's,
through the entry-point group `advlab.methods`, or a user's own class) joins it with `register`
(advlab.plugins checks it).
"""

from advlab.methods.adamatch import AdaMatch
from advlab.methods.adda import ADDA
from advlab.methods.base import Batch, Method, Needs, StepInfo, joint_features
from advlab.methods.cdan import CDAN, CDANE
from advlab.methods.coral import CORAL
from advlab.methods.dan import DAN
from advlab.methods.dann import DANN, DANNNoReversal
from advlab.methods.dirtt import DIRTT
from advlab.methods.fixmatch import FixMatch
from advlab.methods.mcc import MCC
from advlab.methods.mcd import MCD
from advlab.methods.mdd import MDD
from advlab.methods.mean_teacher import MeanTeacher
from advlab.methods.pseudo_label import PseudoLabel
from advlab.methods.shot import SHOT
from advlab.methods.supervised import SourceOnly, TargetOnly
from advlab.methods.vada import VADA
from advlab.plugins import Registry, add

METHODS: dict[str, type[Method]] = Registry(
    {
        m.name: m
        for m in (
            SourceOnly,
            TargetOnly,
            DANN,
            DANNNoReversal,
            PseudoLabel,
            CDAN,
            CDANE,
            DAN,
            CORAL,
            MCC,
            MDD,
            MCD,
            ADDA,
            VADA,
            MeanTeacher,
            FixMatch,
            AdaMatch,
            DIRTT,
            SHOT,
        )
    }
)


def register(cls: type[Method]) -> type[Method]:
    """Add a method to advlab (its --flags and config fields come with it) and return it, so that
    `@advlab.methods.register` decorates a class. Its `name` is its own, lowercase; each of its
    options is named `<name>_...`. A bad class is a TypeError or ValueError in one sentence."""
    return add(METHODS, Method, "method", cls)


__all__ = ["METHODS", "Batch", "Method", "Needs", "StepInfo", "joint_features", "register"]
