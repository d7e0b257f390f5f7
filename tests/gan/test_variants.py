"""The variant registry: every registered variant is sound, options change one part of it,
and unsound combinations are one-line errors."""

import pytest

from advlab.errors import ConfigError
from advlab.gan.config import GanConfig
from advlab.gan.variants import PRACTICAL, VARIANTS


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_registered_variant_is_sound(name):
    assert VARIANTS[name].problems() == []
    GanConfig(variant=name).validate()


def test_the_practicals_three_keep_their_meaning():
    assert set(PRACTICAL) <= set(VARIANTS)
    c, u, n = (VARIANTS[v] for v in ("conditional", "unconditional", "no_label_in_d"))
    assert (c.g_sees_label, c.d_conditioning, c.loss, c.pack, c.spectral_norm) == (
        True,
        "channels",
        "ns",
        1,
        False,
    ) and c.mismatch == 2.0
    assert (u.g_sees_label, u.d_sees_label, u.mismatch) == (False, False, 0.0)
    assert (n.g_sees_label, n.d_sees_label, n.mismatch) == (True, False, 0.0)


def test_options_change_one_part_of_the_variant():
    spec = GanConfig(variant="unconditional", pack=4, loss="hinge", spectral_norm=True).spec
    assert (spec.pack, spec.loss, spec.spectral_norm, spec.g_sees_label) == (4, "hinge", True, False)
    spec = GanConfig(variant="conditional", d_conditioning="projection").spec
    assert spec.d_conditioning == "projection" and spec.mismatch == 2.0
    # the variant's matching-aware weight needs its D: with D blind to y it falls to 0, unless asked for
    assert GanConfig(variant="conditional", d_conditioning="none").spec.mismatch == 0.0


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"pack": 0}, "pack must be >= 1"),
        ({"pack": 3, "batch_size": 64}, "batch size 64 must be a multiple of pack 3"),
        ({"variant": "unconditional", "d_conditioning": "projection"}, "needs a G that sees y"),
        ({"variant": "no_label_in_d", "mismatch": 1.0}, "a mismatch weight needs a D that sees y"),
        ({"loss": "wgan"}, "unknown loss 'wgan'"),
        ({"d_conditioning": "film"}, "unknown D conditioning 'film'"),
        ({"variant": "biggan"}, "unknown variant 'biggan'"),
    ],
)
def test_unsound_combinations_are_one_line_errors(options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        GanConfig(**options).validate()
