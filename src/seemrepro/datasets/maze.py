"""PointMaze datasets with D4RL's maze2d recipe (stand-ins for AntMaze on these machines).

D4RL's maze2d data comes from a waypoint planner that drives a PD controller through the maze,
with Gaussian action noise, the goal being resampled whenever the agent arrives; the reward is
sparse (1 within reach of the goal). Here the planner is a breadth-first search over the maze
cells (the next waypoint is the centre of the next cell on a shortest path, the goal itself in
the goal's cell), the PD gains and noise are D4RL's (``10·(waypoint − x) − 1·v + N(0, 0.5²)``,
clipped to [−1, 1]), and Gymnasium-Robotics' continuing PointMaze with ``reset_target=True``
resamples the goal on arrival. Observations stay Minari's dicts (``observation``,
``achieved_goal``, ``desired_goal``); :func:`seemrepro.datasets.load` flattens them with the goal.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from seemrepro import seeds
from seemrepro.datasets.episodes import REF_EPISODES, Episode, Generated, summarize, write_dataset
from seemrepro.datasets.minari_io import PROJECT_NAMESPACE, project_datasets_root

MAZES: dict[str, str] = {"umaze": "PointMaze_UMaze-v3", "medium": "PointMaze_Medium-v3",
                         "large": "PointMaze_Large-v3"}
MAZE_STEPS: dict[str, int] = {"umaze": 200_000, "medium": 300_000, "large": 400_000}
P_GAIN, D_GAIN, ACTION_NOISE = 10.0, -1.0, 0.5


def maze_dataset_id(maze: str) -> str:
    return f"{PROJECT_NAMESPACE}/pointmaze/{maze}-v0"


def make_maze_env(maze: str) -> gym.Env:
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    return gym.make(MAZES[maze], continuing_task=True, reset_target=True)


class WaypointController:
    """Shortest-path waypoints over the maze grid, followed with a PD controller."""

    def __init__(self, env: gym.Env) -> None:
        self.maze = env.unwrapped.maze  # type: ignore[attr-defined]
        self.grid = np.asarray(self.maze.maze_map) == 1
        self._paths: dict[tuple[int, int], dict[tuple[int, int], tuple[int, int]]] = {}

    def _next_cell(self, cell: tuple[int, int], goal: tuple[int, int]) -> tuple[int, int]:
        if goal not in self._paths:  # BFS from the goal: each cell's parent is its next step
            parent: dict[tuple[int, int], tuple[int, int]] = {goal: goal}
            queue = deque([goal])
            while queue:
                i, j = queue.popleft()
                for n in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                    if not self.grid[n] and n not in parent:
                        parent[n] = (i, j)
                        queue.append(n)
            self._paths[goal] = parent
        return self._paths[goal].get(cell, goal)

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        pos, vel, goal = obs["observation"][:2], obs["observation"][2:], obs["desired_goal"]
        cell = tuple(int(v) for v in self.maze.cell_xy_to_rowcol(pos))
        goal_cell = tuple(int(v) for v in self.maze.cell_xy_to_rowcol(goal))
        if cell == goal_cell:
            waypoint = goal
        else:
            waypoint = self.maze.cell_rowcol_to_xy(np.array(self._next_cell(cell, goal_cell)))  # type: ignore[arg-type]
        return P_GAIN * (waypoint - pos) + D_GAIN * vel


def maze_rollout(env: gym.Env, controller: WaypointController | None, steps: int, seed: int,
                 noise: float, progress: tqdm | None = None) -> list[Episode]:
    """Episodes of the env's length until ``steps`` transitions; ``controller=None`` acts uniformly."""
    rng = np.random.default_rng(seed)
    episodes: list[Episode] = []
    total = 0
    while total < steps:
        obs, _ = env.reset(seed=seed + len(episodes))
        obs_l: list[dict[str, np.ndarray]] = [obs]
        act_l, rew_l, term_l, trunc_l = [], [], [], []
        done = False
        while not done and total < steps:
            if controller is None:
                action = rng.uniform(-1.0, 1.0, 2)
            else:
                action = controller(obs) + rng.normal(0.0, noise, 2)
            action = np.clip(action, -1.0, 1.0).astype(np.float32)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += 1
            done = bool(terminated or truncated)
            obs_l.append(obs)
            act_l.append(action)
            rew_l.append(float(reward))
            term_l.append(bool(terminated))
            trunc_l.append(bool(truncated) or (not done and total >= steps))
        if progress is not None:
            progress.update(len(act_l))
        stacked = {k: np.asarray([o[k] for o in obs_l], np.float32) for k in obs_l[0]}
        episodes.append(Episode(stacked, np.asarray(act_l, np.float32),
                                np.asarray(rew_l, np.float32), np.asarray(term_l, bool),
                                np.asarray(trunc_l, bool), seed + len(episodes)))
    return episodes


def generate_maze(mazes: Sequence[str] = tuple(MAZES), *, root: Path | None = None,
                  scale: float = 1.0, ref_episodes: int = REF_EPISODES,
                  progress: bool = True) -> list[Generated]:
    root = root or project_datasets_root()
    results = []
    for maze in mazes:
        t0 = time.perf_counter()
        env = make_maze_env(maze)
        controller = WaypointController(env)
        length = env.spec.max_episode_steps if env.spec else None
        ref_steps = ref_episodes * int(length or 1)
        ref_min = float(np.mean([e.ret for e in maze_rollout(env, None, ref_steps,
                                                             seeds.MAZE_REFERENCE(0), 0.0)]))
        ref_max = float(np.mean([e.ret for e in maze_rollout(env, controller, ref_steps,
                                                             seeds.MAZE_REFERENCE(50_000), 0.0)]))
        n = max(1, round(MAZE_STEPS[maze] * scale))
        ds_id = maze_dataset_id(maze)
        with tqdm(total=n, desc=ds_id, disable=not progress, unit="step", leave=False) as bar:
            eps = maze_rollout(env, controller, n, seeds.MAZE_ROLLOUTS(0), ACTION_NOISE, bar)
        space: Any = env.observation_space
        path = write_dataset(
            root, ds_id, eps, MAZES[maze], observation_space=space, ref_min=ref_min,
            ref_max=ref_max, ref_episodes=ref_episodes, algorithm="maze2d waypoint PD controller",
            description=(f"D4RL maze2d recipe: BFS waypoints, PD gains ({P_GAIN}, {D_GAIN}), "
                         f"N(0, {ACTION_NOISE}^2) action noise, goal resampled on arrival, "
                         f"sparse reward (scale {scale:g})"))
        env.close()
        results.append(summarize(ds_id, eps, time.perf_counter() - t0, path))
    return results
