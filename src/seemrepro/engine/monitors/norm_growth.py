r"""Growth rate of the critic's parameter norm between consecutive calls.

For the first critic's parameters θ (all trainable tensors flattened into one vector) and two
consecutive calls of the monitor at steps :math:`t-k` and :math:`t`,

.. math::

    \mathrm{param\_norm\_growth}_t = \frac{\lVert\theta_t\rVert_2 - \lVert\theta_{t-k}\rVert_2}{k},

in norm units per gradient step (``k`` is the monitor's interval, shorter at a run's last
step when that is not a multiple of it). The first call only remembers ``‖θ‖``: it records
nothing. The norm is :func:`seemrepro.core.critics.parameter_norm` (float64), the same as the
Q monitor's ``param_norm``.

Why: under Adam a diverging critic's norm grows linearly in the steps, with slope η√P (the
paper's Theorem 4, its Figure 4; η the learning rate, P the number of parameters), so once a
run diverges this rate settles at a positive constant of that size. Parameter-norm growth
is also a cheap symptom named in the plasticity literature (Lyle et al., "Disentangling the
Causes of Plasticity Loss in Neural Networks", 2024). It needs no data at all.

Off by default: turn it on with ``MonitorConfig(extra={"norm_growth": k})``. The previous call's
step and norm are kept in :meth:`NormGrowthMonitor.state_dict`, so a resumed run records the
same rows as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

from seemrepro.core.critics import parameter_norm
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor


@register_monitor
class NormGrowthMonitor(Monitor):
    """``param_norm_growth``: (‖θ_t‖ − ‖θ_{t−k}‖)/k of the first critic between calls."""

    name = "norm_growth"
    order = 40

    def __init__(self, every: int) -> None:
        super().__init__(every)
        self.previous: tuple[int, float] | None = None  # (step, norm) of the last call

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        norm = parameter_norm(run.critic)
        previous, self.previous = self.previous, (step, norm)
        if previous is None or step <= previous[0]:
            return {}
        return {"param_norm_growth": (norm - previous[1]) / (step - previous[0])}

    def state_dict(self) -> dict[str, Any]:
        return {} if self.previous is None else {"step": self.previous[0],
                                                 "norm": self.previous[1]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.previous = (int(state["step"]), float(state["norm"])) if state else None
