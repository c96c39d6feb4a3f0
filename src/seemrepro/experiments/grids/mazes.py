"""The Diff-QL-on-PointMaze setting shared by the maze claims (A3, A4, the maze rows of N2/N3).

The paper trains Diff-QL on AntMaze for 1M steps with 256-256-256 networks, rewards ×10 on
success and max-Q backup (App. F.1). On two CPU cores the book profile keeps the algorithm and
shrinks its cost, each change named here so every chapter can print it:

* networks 128-128-128 (actor's noise model and critics) instead of 256-256-256;
* ``q_action = "predicted_start"``: the actor's Q term reads EDP's one-step action estimate,
  as SEEM's own Diff-QL code does, instead of differentiating through the reverse chain;
* no max-Q backup (one target action per next state instead of the best of ten), which costs
  about 3.5× more per update at this width.

The paper profile restores 256 wide networks and max-Q backup, for 1M steps. Evaluations run
every twentieth of a run, so that "the average of the last ten evaluations" (Table 1's metric)
is the second half of training and the curves show a score rise and fall.
"""

from __future__ import annotations

from typing import Any

from seemrepro.datasets.maze import maze_dataset_id
from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments import scores
from seemrepro.runtime import by_profile

MAZES = ("umaze", "medium", "large")
DATASETS = {maze: maze_dataset_id(maze) for maze in MAZES}
REWARD_TRANSFORM = "antmaze"  # +10 on success (App. F.1)
EVALUATIONS = 20  # per run, evenly spaced; the last ten are the final score
FINAL_EVALUATIONS = 10


def diffql_agent(profile: str, *, critic: dict[str, Any] | None = None,
                 **options: Any) -> dict[str, Any]:
    """Diff-QL's options at ``profile``: the widths and shortcuts above, then ``options`` and
    ``critic`` options (e.g. ``{"norm": "layernorm"}``) over them."""
    width = by_profile(profile, smoke=32, book=128, paper=256)
    paper = profile == "paper"
    return {"actor_hidden": [width] * 3, "q_action": "predicted_start",
            "max_q_backup": paper, **options,
            "critic": {"hidden": [width] * 3, **(critic or {})}}


def maze_monitors(profile: str, steps: int) -> MonitorConfig:
    """Q every 1% of the run, the normalized SEEM every tenth on M transitions, and
    :data:`EVALUATIONS` evaluations."""
    return MonitorConfig(
        q_every=max(1, steps // 100),
        seem_every=steps // 10,
        seem_samples=by_profile(profile, smoke=128, book=512, paper=2560),
        eval_every=steps // EVALUATIONS,
        eval_episodes=by_profile(profile, smoke=1, book=5, paper=10),
        checkpoint_every=max(1, steps // 20))


def final_window_start(config: RunConfig) -> float:
    """Where the evaluations that make a run's final score begin on a plot's step axis: half an
    evaluation interval before the first of the last :data:`FINAL_EVALUATIONS`."""
    return scores.final_window_start(config, FINAL_EVALUATIONS)
