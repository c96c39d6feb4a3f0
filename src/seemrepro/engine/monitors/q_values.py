"""Q on the data and at the policy's actions; the engine's divergence detector."""

from __future__ import annotations

import math

import torch

from seemrepro.core.critics import parameter_norm
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor


@register_monitor
class QMonitor(Monitor):
    """Mean Q on X's dataset actions (``q_data``) and at the policy's actions (``q_policy``),
    ``q_abs_max`` (what divergence is judged by), the first critic's parameter norm, and the
    policy's mean action norm over the action box corner's norm (``action_corner_ratio``,
    T8), with the same ratio for the dataset's actions."""

    name = "q"
    order = 0

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        critic, x = run.critic, run.x
        with torch.no_grad():
            policy = run.actor(x.states)
            q_data = critic(torch.cat([x.states, x.actions], dim=-1))
            q_policy = critic(torch.cat([x.states, policy], dim=-1))
            corner = run.agent_config.max_action * math.sqrt(run.agent.action_dim)
            return {"q_data": float(q_data.mean()), "q_policy": float(q_policy.mean()),
                    "q_abs_max": float(torch.cat([q_data, q_policy]).abs().max()),
                    "param_norm": parameter_norm(critic),
                    "action_corner_ratio": float(policy.norm(dim=-1).mean() / corner),
                    "data_action_corner_ratio": float(x.actions.norm(dim=-1).mean() / corner)}


def diverged(metrics: dict[str, float], threshold: float) -> bool:
    """A run diverges when a Q statistic is non-finite or ``q_abs_max`` exceeds ``threshold``."""
    return not all(math.isfinite(v) for v in metrics.values()) or metrics["q_abs_max"] > threshold
