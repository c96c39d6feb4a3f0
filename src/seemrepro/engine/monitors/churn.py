r"""Q-value churn on a fixed held-out set between consecutive calls.

Value churn is how much an update moves the critic's predictions on inputs it was not
updated on (Schaul et al., "The Phenomenon of Policy Churn", NeurIPS 2022; Tang & Berseth,
"Improving Deep Reinforcement Learning by Reducing the Chain Effect of Value and Policy
Churn", NeurIPS 2024). For the first critic Q_t at two consecutive calls of the monitor at
steps :math:`t-k` and :math:`t`, on a fixed set H of N (s, a) pairs,

.. math::

    \mathrm{q\_churn}_t = \frac{1}{N}\sum_{(s,a)\in H}\big|Q_t(s,a) - Q_{t-k}(s,a)\big|,

in Q units over the whole interval (not per step; ``k`` is shorter at a run's last step when
that is not a multiple of the interval). The first call only remembers Q on H: it records
nothing. It is ≥ 0, and exactly 0 when the critic did not change.

The held-out set H holds up to :attr:`ChurnMonitor.samples` (1024) transitions of the run's
training data whose (s, a) is not in the monitoring set X, drawn once without replacement from
the seed stream :data:`seemrepro.seeds.HELD_OUT_SET` (:func:`held_out_set`). It is held out
from X, not from training: an offline critic trains on every transition. H uses the
**dataset's actions**, so the inputs stay fixed and the churn measures the critic's change
alone (the policy's actions would mix in the actor's change). A run whose X already holds all
of its data (e.g. a small dataset with the default ``seem_samples``) has no H: the monitor
refuses it; lower ``MonitorConfig.seem_samples``.

Off by default: turn it on with ``MonitorConfig(extra={"churn": k})``. The previous call's
step and Q on H are kept in :meth:`ChurnMonitor.state_dict`; H itself is drawn again, the
same, after a resume.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from seemrepro import seeds
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor
from seemrepro.engine.monitors.features import evaluation_mode
from seemrepro.rl.buffers import Batch, TransitionBuffer


def _row_keys(states: torch.Tensor, actions: torch.Tensor) -> list[bytes]:
    rows = torch.cat([states, actions], dim=-1).detach().cpu().contiguous().numpy()
    return [row.tobytes() for row in rows]


def held_out_set(data: TransitionBuffer, x: Batch, size: int, seed: int) -> Batch:
    """Up to ``size`` distinct transitions of ``data`` whose (s, a) is not in ``x``, drawn
    without replacement from this seed's :data:`seemrepro.seeds.HELD_OUT_SET` stream."""
    if size <= 0:
        raise ValueError(f"the held-out set needs at least one transition, got size={size}")
    taken = set(_row_keys(x.states, x.actions))
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(
        seeds.HELD_OUT_SET(seed)))
    chosen: list[int] = []
    chunk = 4 * size  # a few rejections (rows of X) are expected; draw ahead
    for start in range(0, len(order), chunk):
        candidates = order[start:start + chunk]
        index = candidates.to(data.states.device)
        keys = _row_keys(data.states[index], data.actions[index])
        for i, key in zip(candidates.tolist(), keys, strict=True):
            if key not in taken:
                taken.add(key)  # a repeated (s, a) in the data is used once
                chosen.append(i)
                if len(chosen) == size:
                    break
        if len(chosen) == size:
            break
    if not chosen:
        raise ValueError("no transition of the data lies outside the monitoring set X, so the "
                         "churn monitor has no held-out states; lower MonitorConfig.seem_samples")
    return data.batch(torch.as_tensor(np.array(chosen), device=data.states.device))


@register_monitor
class ChurnMonitor(Monitor):
    """``q_churn``: mean |Q_t − Q_{t−k}| of the first critic on a fixed held-out set of the
    data (dataset actions), between consecutive calls."""

    name = "churn"
    order = 70
    samples: ClassVar[int] = 1024

    def __init__(self, every: int) -> None:
        super().__init__(every)
        self.held_out: Batch | None = None  # drawn at the first call, again after a resume
        self.previous: tuple[int, torch.Tensor] | None = None  # (step, Q on H) of the last call

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        if self.held_out is None:
            self.held_out = held_out_set(run.prepared.data, run.x, self.samples, run.seed)
        critic, held_out = run.critic, self.held_out
        with torch.no_grad(), evaluation_mode(critic):
            q = critic(held_out.critic_inputs)
        q = q.detach().to(device="cpu", dtype=torch.float64)
        previous, self.previous = self.previous, (step, q)
        if previous is None or step <= previous[0]:
            return {}
        return {"q_churn": float((q - previous[1]).abs().mean())}

    def state_dict(self) -> dict[str, Any]:
        return {} if self.previous is None else {"step": self.previous[0], "q": self.previous[1]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.previous = (int(state["step"]), state["q"]) if state else None
