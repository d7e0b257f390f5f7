"""The GAN games, one file each; this registry is the only list of them.

Adding a game: write `games/<name>.py` with a `Game` subclass (base.py says what it must
give), add it to `GAMES` below, and add `tests/gan/test_games.py` cases. `--loss NAME`
then plays it with every variant whose D it can use.
"""

from __future__ import annotations

from advlab.gan.games.base import COLLAPSE_WINDOW, Game, Players, Round
from advlab.gan.games.hinge import Hinge
from advlab.gan.games.ns import NonSaturating
from advlab.gan.games.wgan_gp import WassersteinGP

GAMES: dict[str, type[Game]] = {g.name: g for g in (NonSaturating, Hinge, WassersteinGP)}

__all__ = ["COLLAPSE_WINDOW", "GAMES", "Game", "Players", "Round"]
