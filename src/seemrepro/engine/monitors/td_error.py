r"""The critic's TD error on the fixed monitoring set X.

For X's transitions :math:`(s_i, a_i, r_i, s'_i, d_i)`, the first critic :math:`Q` and the
current policy :math:`\pi`,

.. math::

    \mathrm{td\_error} = \frac{1}{M}\sum_i \bigl|\, r_i + \gamma (1 - d_i)\,
    Q(s'_i, \pi(s'_i)) - Q(s_i, a_i) \bigr|,

with the current network in the target (no target network, no target-policy noise), so the
same quantity is measured for every agent and every τ. It is the loss-side symptom of
divergence that a training log usually already shows; a diverging critic's TD error grows
with Q itself (the paper's Theorem 1 describes how :math:`u_t` evolves).

Off by default: turn it on with ``MonitorConfig(extra={"td_error": k})``.
"""

from __future__ import annotations

import torch

from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor


@register_monitor
class TDErrorMonitor(Monitor):
    """``td_error``: mean |r + γ(1 − d)·Q(s′, π(s′)) − Q(s, a)| over X, first critic."""

    name = "td_error"
    order = 45

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        critic, x = run.critic, run.x
        with torch.no_grad():
            next_q = critic(torch.cat([x.next_states, run.actor(x.next_states)], dim=-1))
            target = x.rewards + run.agent_config.gamma * (1.0 - x.dones) * next_q
            error = target - critic(torch.cat([x.states, x.actions], dim=-1))
        return {"td_error": float(error.abs().mean())}
