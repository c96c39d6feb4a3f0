"""Named random streams: every seed offset the package uses, in one place.

A run with seed ``s`` draws each kind of randomness from its own stream, ``offset + s``, so that
(for example) changing how many evaluation episodes run never shifts the minibatches. The peer
comparison uses the same streams as the engine, which is what makes its runs comparable.
Dataset generation seeds are part of the data recipe: changing one changes the datasets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedStream:
    """``stream(base)`` is the seed of this stream for a run (or step) ``base``."""

    name: str
    offset: int

    def __call__(self, base: int) -> int:
        return self.offset + int(base)


# training engine, per run seed
MONITOR_SET = SeedStream("monitor set X", 10_000)
MINIBATCHES = SeedStream("minibatch sampling", 20_000)
ONLINE_EXPLORATION = SeedStream("online exploration actions and replay sampling", 30_000)
HELD_OUT_SET = SeedStream("held-out monitoring states (the Q-churn monitor)", 40_000)
# evaluation episodes, per training step (episode k resets with seed + k)
EVALUATION = SeedStream("evaluation episodes", 1_000_000)

# behaviour agents (data recipe)
BEHAVIOUR_EVALUATION = SeedStream("behaviour-agent evaluation episodes", 10_000)
# dataset generation (data recipe), per dataset kind
DATASET_KINDS: dict[str, SeedStream] = {
    kind: SeedStream(f"{kind} rollouts", offset) for kind, offset in
    (("random", 100_000), ("medium", 200_000), ("expert", 300_000), ("medium-replay", 400_000))}
MAZE_ROLLOUTS = SeedStream("maze rollouts", 500_000)
MAZE_REFERENCE = SeedStream("maze reference-score episodes", 600_000)
REFERENCE_SCORES = SeedStream("locomotion reference-score episodes", 2_000_000)
RECIPE_RECHECK = SeedStream("behaviour-snapshot re-evaluation", 3_000_000)

ENGINE_STREAMS: tuple[SeedStream, ...] = (MONITOR_SET, MINIBATCHES, ONLINE_EXPLORATION,
                                           HELD_OUT_SET, EVALUATION)
