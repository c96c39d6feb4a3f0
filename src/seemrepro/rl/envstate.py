"""The state of a running MuJoCo Gymnasium environment, captured and restored exactly, so that an
interrupted online run resumes as if it had never stopped."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


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
