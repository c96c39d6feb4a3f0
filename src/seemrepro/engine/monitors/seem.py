"""SEEM of the first critic on the fixed X and X* = (s', π(s'))."""

from __future__ import annotations

import torch

from seemrepro.core.seem import seem
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor


@register_monitor
class SEEMMonitor(Monitor):
    """Raw and normalized SEEM (``seem``, ``seem_normalized``) on the run's fixed X of distinct
    transitions (:func:`seemrepro.engine.data.monitor_set`).

    ``seem`` is computed with every NTK entry divided by the number of critic parameters P,
    as the paper's code does, so it is P times smaller than ``seem(critic, ...)`` with its
    default ``normalize_by_parameters=False`` and comparable across critic sizes;
    ``seem_normalized`` is ``λ_max / ‖A‖_F``, the same either way."""

    name = "seem"
    order = 10

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        x = run.x
        with torch.no_grad():
            x_in = x.critic_inputs
            x_next = torch.cat([x.next_states, run.actor(x.next_states)], dim=-1)
        result = seem(run.critic, x_in, x_next, run.agent_config.gamma, normalize_by_parameters=True)
        return {"seem": result.raw, "seem_normalized": result.normalized}
