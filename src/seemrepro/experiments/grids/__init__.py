"""One module per claim that trains: ``grid(profile) -> Grid``, the runs its chapter reads."""

from __future__ import annotations

from seemrepro.engine.config import MonitorConfig
from seemrepro.runtime import by_profile


def scored_monitors(profile: str, steps: int, *, book_samples: int) -> MonitorConfig:
    """Monitors of a grid whose claim is a score: max |Q| often, the normalized SEEM every
    tenth of a book run on ``book_samples`` transitions, and one evaluation at the last step."""
    return MonitorConfig(
        q_every=by_profile(profile, smoke=50, book=100, paper=1000),
        seem_every=by_profile(profile, smoke=100, book=1000, paper=10_000),
        seem_samples=by_profile(profile, smoke=256, book=book_samples, paper=2560),
        eval_every=steps, eval_episodes=by_profile(profile, smoke=2, book=5, paper=10),
        checkpoint_every=by_profile(profile, smoke=200, book=1000, paper=10_000))
