"""Dataset ids to transition buffers: the one entry point from an id to training data.

Ids understood here besides Minari's (which go to :func:`seemrepro.datasets.load`):

* ``rollout/<EnvId>/<steps>``: ``steps`` transitions of the uniform random policy in a
  Gymnasium environment, generated in seconds (e.g. ``rollout/Hopper-v5/20000``);
* ``synthetic/<steps>``: random Gaussian transitions with no environment (tests only).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from seemrepro.rl.buffers import TransitionBuffer

if TYPE_CHECKING:
    from gymnasium.envs.registration import EnvSpec

# D4RL's reference returns (random, expert policies), used when a dataset carries none.
D4RL_REFERENCE: dict[str, tuple[float, float]] = {
    "Hopper": (-20.272305, 3234.3),
    "HalfCheetah": (-280.178953, 12135.0),
    "Walker2d": (1.629008, 4592.3),
}


def reference_for(env_id: str) -> tuple[float, float] | None:
    return D4RL_REFERENCE.get(env_id.split("-")[0])


def _with_metadata(buffer: TransitionBuffer, dataset_id: str, env_id: str | None
                   ) -> TransitionBuffer:
    meta: dict[str, object] = {"dataset_id": dataset_id, "env_id": env_id}
    ref = reference_for(env_id) if env_id else None
    if ref is not None:
        meta.update(ref_min_score=ref[0], ref_max_score=ref[1])
    buffer.metadata.update(meta)
    return buffer


@lru_cache(maxsize=4)
def random_rollout(env_id: str, steps: int, seed: int = 0) -> TransitionBuffer:
    """Transitions of the uniform random policy; truncations are timeouts, not terminals."""
    env = _make_env(env_id)
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high  # type: ignore[attr-defined]
    obs, _ = env.reset(seed=seed)
    columns: dict[str, list[np.ndarray | float | bool]] = {
        k: [] for k in ("s", "a", "r", "s2", "term", "trunc")}
    starts = [0]
    for t in range(steps):
        action = rng.uniform(low, high).astype(np.float32)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        for k, v in zip(columns, (obs, action, float(reward), next_obs, terminated, truncated)):
            columns[k].append(v)
        obs = next_obs
        if terminated or truncated:
            obs, _ = env.reset(seed=seed + t + 1)
            starts.append(t + 1)
    env.close()
    as_t = lambda k: torch.as_tensor(np.asarray(columns[k], dtype=np.float32))
    buffer = TransitionBuffer(as_t("s"), as_t("a"), as_t("r"), as_t("s2"), as_t("term"),
                              as_t("trunc"), torch.as_tensor(starts[:-1] if starts[-1] == steps
                                                              else starts))
    return _with_metadata(buffer, f"rollout/{env_id}/{steps}", env_id)


def synthetic(steps: int, state_dim: int = 11, action_dim: int = 3, seed: int = 0
              ) -> TransitionBuffer:
    g = torch.Generator().manual_seed(seed)
    states = torch.randn(steps, state_dim, generator=g)
    buffer = TransitionBuffer(
        states=states, actions=torch.rand(steps, action_dim, generator=g) * 2 - 1,
        rewards=torch.randn(steps, generator=g),
        next_states=states + 0.1 * torch.randn(steps, state_dim, generator=g),
        terminals=(torch.rand(steps, generator=g) < 0.01).float(), timeouts=torch.zeros(steps),
        episode_starts=torch.tensor([0]))
    return _with_metadata(buffer, f"synthetic/{steps}", None)


def evaluation_env(source: TransitionBuffer) -> EnvSpec | str | None:
    """The environment a policy trained on ``source`` is evaluated in.

    For a Minari dataset, the spec its metadata records: Minari's ``eval_env_spec`` when the
    dataset has one (D4RL's AntMaze: the evaluation maze with its fixed start and goal), else
    the ``env_spec`` of the environment that generated the data. The spec carries the
    environment's arguments and episode length, which a bare ``gym.make(env_id)`` would reset to
    the registered defaults.

    Our PointMaze datasets (:mod:`seemrepro.datasets.maze`) record the registered
    ``PointMaze_<Maze>-v3`` spec (maze map, sparse reward, 300 steps) but not the generator's
    ``continuing_task=True, reset_target=True`` (Minari was handed the env id), and
    Gymnasium-Robotics' PointMaze defaults to ``reset_target=False``; the generator's arguments
    (:func:`seemrepro.datasets.maze.make_maze_env`, where the reference scores were measured)
    are laid over the recorded ones, so the evaluation maze is the data's.

    Buffers with no metadata file (``rollout/…``, online runs) give their env id; ``None``
    when there is no environment at all (``synthetic/…``).
    """
    import dataclasses

    from seemrepro.datasets.minari_io import read_metadata

    meta = source.metadata
    path, dataset_id = meta.get("path"), str(meta.get("dataset_id") or "")
    if path:
        recorded = read_metadata(Path(str(path)), dataset_id)
        text = recorded.get("eval_env_spec") or recorded.get("env_spec")
        if isinstance(text, str):
            spec = env_spec_from_json(text)
            recipe = _maze_recipe_kwargs(dataset_id)
            if recipe:
                spec = dataclasses.replace(spec, kwargs={**spec.kwargs, **recipe})
            return spec
    env_id = meta.get("env_id")
    return str(env_id) if env_id else None


@lru_cache(maxsize=8)
def _maze_recipe_kwargs(dataset_id: str) -> dict[str, Any]:
    """The arguments our maze generator made the environment of ``dataset_id`` with (empty
    for any other id)."""
    from seemrepro.datasets.maze import MAZES, make_maze_env, maze_dataset_id

    maze = {maze_dataset_id(m): m for m in MAZES}.get(dataset_id)
    if maze is None:
        return {}
    env = make_maze_env(maze)
    try:
        return dict(env.spec.kwargs) if env.spec else {}
    finally:
        env.close()


def env_spec_from_json(text: str) -> EnvSpec:
    """A Minari metadata spec as a Gymnasium ``EnvSpec``; fields this Gymnasium does not know
    (``apply_api_compatibility``, ``autoreset`` of specs written with older versions) are
    dropped, as Minari itself does."""
    import dataclasses
    import json

    from gymnasium.envs.registration import EnvSpec

    fields = {f.name for f in dataclasses.fields(EnvSpec) if f.init}
    parsed = {k: v for k, v in json.loads(text).items() if k in fields}
    return EnvSpec.from_json(json.dumps(parsed))


def _make_env(env_id: str) -> Any:
    """``gym.make`` with a clean error for an id Gymnasium does not know."""
    import difflib

    import gymnasium as gym

    try:
        return gym.make(env_id)
    except gym.error.Error as error:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown environment {env_id!r} ({error}){hint}") from error


def resolve_dataset(dataset_id: str) -> TransitionBuffer:
    """Any dataset id as a transition buffer: ``rollout/<EnvId>/<steps>``,
    ``synthetic/<steps>``, or a Minari id (local first, see :func:`seemrepro.datasets.load`).

    Raises ``ValueError`` naming the problem for a malformed or unknown id.
    """
    parts = dataset_id.split("/")
    if parts[0] in ("rollout", "synthetic"):
        expected = "rollout/<EnvId>/<steps>" if parts[0] == "rollout" else "synthetic/<steps>"
        if len(parts) != (3 if parts[0] == "rollout" else 2) or not parts[-1].isdigit() \
                or int(parts[-1]) <= 0:
            raise ValueError(f"bad dataset id {dataset_id!r}: expected {expected} with a "
                             f"positive number of steps")
        if parts[0] == "synthetic":
            return synthetic(int(parts[1]))
        return random_rollout(parts[1], int(parts[2]))
    from seemrepro.datasets.minari_io import PROJECT_NAMESPACE, load

    if dataset_id.startswith(PROJECT_NAMESPACE + "/"):
        from seemrepro.datasets.generate import parse_only

        parse_only([dataset_id])  # an unknown family or kind: a ValueError naming the known ones
    try:
        return load(dataset_id)
    except Exception as error:  # the loader explains how to generate or fetch it
        raise ValueError(f"unknown or missing dataset {dataset_id!r}: {error}") from error


def load_subset(dataset_id: str, fraction: float = 1.0, seed: int = 0) -> TransitionBuffer:
    """The training data of a run: :func:`resolve_dataset`, then the X% subset of
    :func:`seemrepro.datasets.subset` (the whole dataset when ``fraction`` is 1)."""
    from seemrepro.datasets.minari_io import subset

    return subset(resolve_dataset(dataset_id), fraction, seed)
