"""Environment data the engine needs without a stored dataset: quick rollout datasets,
synthetic transitions for tests, policy evaluation and D4RL normalized scores.

Dataset ids understood here (anything else goes to :func:`seemrepro.datasets.load`):

* ``rollout/<EnvId>/<steps>``: ``steps`` transitions of the uniform random policy in a
  Gymnasium environment, generated in seconds (e.g. ``rollout/Hopper-v5/20000``);
* ``synthetic/<steps>``: random Gaussian transitions with no environment (tests only).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from seemrepro.buffer import TransitionBuffer

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
    import gymnasium as gym

    env = gym.make(env_id)
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


def load_dataset(dataset_id: str) -> TransitionBuffer:
    """Resolve a dataset id (see the module docstring) to a transition buffer."""
    parts = dataset_id.split("/")
    try:
        if parts[0] == "rollout" and len(parts) == 3:
            return random_rollout(parts[1], int(parts[2]))
        if parts[0] == "synthetic" and len(parts) == 2:
            return synthetic(int(parts[1]))
    except ValueError as error:
        raise ValueError(f"bad dataset id {dataset_id!r}: {error}") from error
    try:
        from seemrepro.datasets import load
    except ImportError as error:
        raise ValueError(f"unknown dataset {dataset_id!r}: not rollout/<EnvId>/<steps> or "
                         f"synthetic/<steps>, and the datasets package is unavailable") from error
    try:
        return load(dataset_id)
    except Exception as error:  # the datasets package explains how to generate it
        raise ValueError(f"unknown or missing dataset {dataset_id!r}: {error}") from error


def subset(buffer: TransitionBuffer, fraction: float, seed: int = 0) -> TransitionBuffer:
    """The X% subset of :func:`seemrepro.datasets.subset`, keyed by the dataset id."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"subset fraction must lie in (0, 1], got {fraction}")
    if fraction == 1.0:
        return buffer
    from seemrepro.datasets import subset as keyed_subset

    return keyed_subset(buffer, fraction, seed)


def evaluate(policy: Callable[[np.ndarray], np.ndarray], env_id: str, episodes: int,
             seed: int) -> list[float]:
    """Undiscounted returns of ``policy`` (raw observations in, actions out)."""
    import gymnasium as gym

    from seemrepro.datasets.generate import evaluate_returns

    env = gym.make(env_id)
    try:
        return evaluate_returns(env, policy, episodes, seed)
    finally:
        env.close()


def _wrapper_chain(env: Any) -> list[Any]:
    chain = [env]
    while hasattr(chain[-1], "env"):
        chain.append(chain[-1].env)
    return chain


def capture_env_state(env: Any) -> dict[str, Any] | None:
    """Everything a MuJoCo Gymnasium environment needs to continue exactly where it is.

    The physics integration state (positions, velocities, warm start, time), the environment's
    random generator and the time-limit counters. ``None`` for environments whose state cannot
    be read this way (their resumed runs start a fresh episode instead).
    """
    base = env.unwrapped
    if not (hasattr(base, "model") and hasattr(base, "data")):
        return None
    import mujoco

    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    physics = np.empty(mujoco.mj_stateSize(base.model, spec))
    mujoco.mj_getState(base.model, base.data, physics, spec)
    return {"physics": physics,
            "np_random": copy.deepcopy(base.np_random.bit_generator.state),
            "elapsed_steps": [getattr(w, "_elapsed_steps", None) for w in _wrapper_chain(env)]}


def restore_env_state(env: Any, state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_env_state`, on a reset environment of the same id."""
    import mujoco

    base = env.unwrapped
    mujoco.mj_setState(base.model, base.data, state["physics"], mujoco.mjtState.mjSTATE_INTEGRATION)
    base.np_random.bit_generator.state = state["np_random"]
    chain = _wrapper_chain(env)
    if len(chain) != len(state["elapsed_steps"]):
        raise ValueError("environment wrappers differ from the captured environment's")
    for wrapper, elapsed in zip(chain, state["elapsed_steps"], strict=True):
        if elapsed is not None:
            wrapper._elapsed_steps = elapsed
