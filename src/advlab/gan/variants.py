"""The GAN variants as data: who sees the label, how D is conditioned, the loss, packing,
spectral normalisation and the matching-aware weight. The training loop reads these
fields and nothing else, so a new variant is one line here (plus, if it needs a new
part, one module).

D's conditioning:
- `channels`: y's one-hot maps stacked on the image as extra input channels (Mirza &
  Osindero on DCGAN; computed as a per-class lookup, see models/dcgan.py);
- `projection`: the inner product of a class embedding with D's features added to its
  output (Miyato & Koyama 2018);
- `none`: D sees only images.
`pack` M > 1: D judges M samples at a time, stacked as channels (PacGAN, Lin et al. 2018),
so a G that keeps drawing the same few modes is easy to tell apart.
`loss` names the game (gan/games/): its losses, D steps per G step, optimiser defaults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from advlab.gan.games import GAMES
from advlab.gan.names import PRACTICAL, REMEDIES  # noqa: F401  (the names stay importable from here)

D_CONDITIONINGS = ("channels", "projection", "none")
DEFAULT_MISMATCH = 2.0


@dataclass(frozen=True)
class Variant:
    name: str
    about: str  # the CLI's help and the report's caption
    g_sees_label: bool
    d_conditioning: str = "none"
    loss: str = "ns"
    pack: int = 1
    spectral_norm: bool = False
    # matching-aware D (Reed et al. 2016): real images under a wrong label count as fake; without
    # it D checks y only through G's fakes, and G drifts off-class
    mismatch: float = 0.0
    # batch norm in D's second layer (DCGAN's); never with spectral norm, which replaces it,
    # nor in a game that penalises each image's gradient
    d_batch_norm: bool = True

    @property
    def d_normalised(self) -> bool:
        """Whether D's second layer has batch norm (spectral norm takes its place)."""
        return self.d_batch_norm and not self.spectral_norm

    @property
    def d_sees_label(self) -> bool:
        return self.d_conditioning != "none"

    def problems(self) -> list[str]:
        """What makes this combination meaningless, in words (empty when it is sound)."""
        out = []
        if self.d_conditioning not in D_CONDITIONINGS:
            out.append(f"unknown D conditioning {self.d_conditioning!r}; choose from {', '.join(D_CONDITIONINGS)}")
        if self.loss not in GAMES:
            out.append(f"unknown loss {self.loss!r}; choose from {', '.join(GAMES)}")
        elif self.d_normalised and not GAMES[self.loss].d_batch_norm:
            out.append(
                f"loss {self.loss} penalises each image's gradient, which batch norm in D mixes across the batch: "
                "add --no-d-batch-norm (or use spectral norm)"
            )
        if self.pack < 1:
            out.append(f"pack must be >= 1, got {self.pack}")
        if self.d_sees_label and not self.g_sees_label:
            out.append(
                f"a D conditioned on y ({self.d_conditioning}) needs a G that sees y; variant {self.name} has none"
            )
        if self.mismatch and not self.d_sees_label:
            out.append(
                f"a mismatch weight needs a D that sees y, not variant {self.name} (D conditioning "
                f"{self.d_conditioning})"
            )
        return out

    def with_options(self, **overrides) -> Variant:
        """This variant with the options a user set (None: keep the variant's own)."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        # the practical's three
        Variant(
            "conditional",
            "cDCGAN: y concatenated to z in G and stacked as channels in D (matching-aware D)",
            True,
            "channels",
            mismatch=DEFAULT_MISMATCH,
        ),
        Variant("unconditional", "DCGAN: no label anywhere", False),
        Variant("no_label_in_d", "ablation: G gets y, D sees only the image", True),
        # the remedies, each a known cure for what plain DCGAN gets wrong
        Variant("pacgan2", "DCGAN whose D judges 2 samples at a time (PacGAN2): against dropped modes", False, pack=2),
        Variant(
            "sngan",
            "DCGAN with spectral norm in D and the hinge loss (SNGAN): a steadier game",
            False,
            loss="hinge",
            spectral_norm=True,
        ),
        Variant(
            "projection",
            "cDCGAN with a projection D (Miyato & Koyama 2018), spectral norm and the hinge loss",
            True,
            "projection",
            loss="hinge",
            spectral_norm=True,
        ),
        # a game of another family: a critic and a gradient penalty (gan/games/wgan_gp.py)
        Variant(
            "wgan_gp",
            "DCGAN's networks in the WGAN-GP game (Gulrajani et al. 2017): a critic without batch norm, a gradient "
            "penalty, 5 critic steps per G step",
            False,
            loss="wgan_gp",
            d_batch_norm=False,
        ),
    )
}
