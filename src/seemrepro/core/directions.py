"""Where a diverging run settles: its policy's actions at the corners of the action box (T8,
Fig. 15) and its directions after a critical step t0 (T9, Fig. 1 and Figs. 16-18).

**Corners.** For actions in the box :math:`[-a_{\\max}, a_{\\max}]^d` every corner has norm
:math:`a_{\\max}\\sqrt d`, the largest an action can have. The *corner ratio* of a set of
actions is their mean norm over that corner norm,

.. math:: \\rho = \\frac{1}{n}\\sum_{i=1}^n \\frac{\\lVert a_i\\rVert}{a_{\\max}\\sqrt d}
   \\in [0, 1],

which is 1 exactly when every action is a corner. The Q monitor records it for the policy's
actions on X (``action_corner_ratio``) and for X's dataset actions
(``data_action_corner_ratio``); :class:`CornerRecord` reads one run's record at its last
monitored step.

**Directions.** The snapshot monitor records, per snapshot step t, the cosine similarity
:math:`\\cos(v_t, v_T) = \\langle v_t, v_T\\rangle / (\\lVert v_t\\rVert\\,\\lVert v_T\\rVert)`
to the last snapshot T of the critic's and the actor's parameters, the policy's actions on X
and the critic's NTK Gram matrix. :func:`direction_record` reads one run against a critical
step :math:`t_0 = f\\cdot T_{\\text{run}}`, a fixed fraction of the run's length: when Q
passed the bound ``max|r| / (1 − γ)``, the smallest of each cosine over the snapshots from
t0 on, and the critic's parameter norm at t0 and at the end.

Values may be non-finite where a run blew up: NaN compares false with every level, so a NaN
cosine or ratio never satisfies a rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from seemrepro.core.predict import first_crossing_or_none, value_at_or_before

ArrayLike = Sequence[float] | np.ndarray


def _series(steps: ArrayLike, values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if t.ndim != 1 or t.shape != y.shape:
        raise ValueError(f"steps and values must be 1-D of equal length, got {t.shape}, {y.shape}")
    if t.size == 0:
        raise ValueError("the series is empty (the metric was never recorded)")
    if np.any(np.diff(t) <= 0):
        raise ValueError("steps must increase")
    return t, y


# -- corners (T8) ----------------------------------------------------------------------------
def corner_norm(max_action: float, action_dim: int) -> float:
    """:math:`a_{\\max}\\sqrt d`, the norm of every corner of the box :math:`[-a_{\\max},
    a_{\\max}]^d` (the largest norm an action in it can have)."""
    if max_action <= 0 or action_dim < 1:
        raise ValueError(f"need max_action > 0 and action_dim >= 1, got {max_action}, "
                         f"{action_dim}")
    return float(max_action) * math.sqrt(action_dim)


def corner_ratio(actions: torch.Tensor | np.ndarray, max_action: float) -> float:
    """The mean of :math:`\\lVert a_i\\rVert / (a_{\\max}\\sqrt d)` over the rows of
    ``actions`` (n × d): 1 when every action is a corner of the box, the same formula as the Q
    monitor's ``action_corner_ratio``."""
    a = torch.as_tensor(actions, dtype=torch.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"actions must be a non-empty n × d array, got shape {tuple(a.shape)}")
    return float(a.norm(dim=-1).mean()) / corner_norm(max_action, a.shape[1])


def last_recorded(steps: ArrayLike, values: ArrayLike) -> tuple[int, float]:
    """The last monitored step and the value recorded there (a run stopped at divergence
    ends at its divergence step)."""
    t, y = _series(steps, values)
    return int(t[-1]), float(y[-1])


@dataclass(frozen=True)
class CornerRecord:
    """One run's corner ratios at its last monitored step, and when its Q inflated."""

    inflated_at: int | None  # first monitored step with max |Q| > max|r| / (1 − γ)
    last_step: int
    policy_ratio: float  # the policy's actions on X
    data_ratio: float  # X's dataset actions
    q_abs_max: float  # at the last monitored step

    @property
    def inflated(self) -> bool:
        return self.inflated_at is not None

    def at_corner(self, level: float) -> bool:
        """T8's corner rule for this run: its last policy ratio is at least ``level``."""
        return self.policy_ratio >= level

    def policy_below(self, level: float) -> bool:
        """T8's 'well below 1' for this run's policy: its last ratio is at most ``level``."""
        return self.policy_ratio <= level

    def data_below(self, level: float) -> bool:
        """T8's 'well below 1' for the dataset actions: their ratio is at most ``level``."""
        return self.data_ratio <= level


def corner_record(q_steps: ArrayLike, q_abs_max: ArrayLike, ratio_steps: ArrayLike,
                  policy_ratio: ArrayLike, data_ratio: ArrayLike, *,
                  q_bound: float) -> CornerRecord:
    """A run's :class:`CornerRecord` from its Q monitor's series: max |Q| on X, and the
    policy's and the dataset's corner ratios (recorded at the same steps, last step last)."""
    last_step, policy_last = last_recorded(ratio_steps, policy_ratio)
    data_step, data_last = last_recorded(ratio_steps, data_ratio)
    _, q_last = last_recorded(q_steps, q_abs_max)
    if data_step != last_step:
        raise ValueError("the policy's and the dataset's ratios end at different steps")
    return CornerRecord(inflated_at=first_crossing_or_none(q_steps, q_abs_max, q_bound,
                                                           strict=True),
                        last_step=last_step, policy_ratio=policy_last, data_ratio=data_last,
                        q_abs_max=q_last)


# -- directions after t0 (T9) ----------------------------------------------------------------
def critical_step(run_length: float, fraction: float) -> float:
    """:math:`t_0 = f \\cdot T_{\\text{run}}` for a fraction ``f`` in (0, 1)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"the fraction must lie in (0, 1), got {fraction}")
    if run_length <= 0:
        raise ValueError(f"the run length must be positive, got {run_length}")
    return fraction * run_length


def minimum_from(steps: ArrayLike, values: ArrayLike, start: float) -> float:
    """The smallest value recorded at a step ``>= start`` (NaN when one of them is NaN);
    an error when no step is that late."""
    t, y = _series(steps, values)
    late = y[t >= start]
    if late.size == 0:
        raise ValueError(f"nothing is recorded at or after step {start:g} (last step "
                         f"{t[-1]:g})")
    return float(np.nan) if np.isnan(late).any() else float(late.min())


def settled_from(steps: ArrayLike, values: ArrayLike, level: float) -> int | None:
    """The earliest step from which every recorded value is at least ``level`` (to the end
    of the record), or ``None`` when the last value is below it (or NaN)."""
    t, y = _series(steps, values)
    below = np.nonzero(~(y >= level))[0]
    if below.size == 0:
        return int(t[0])
    if below[-1] == t.size - 1:
        return None
    return int(t[below[-1] + 1])


@dataclass(frozen=True)
class DirectionRecord:
    """One run read against its critical step t0 (see the module's docstring)."""

    t0: float
    run_length: int
    inflated_at: int | None  # first monitored step with max |Q| > max|r| / (1 − γ)
    min_cosine: Mapping[str, float]  # per cosine: its smallest value from t0 on
    snapshots_from_t0: int
    norm_at_t0: float  # critic ‖θ‖ at the last monitored step <= t0
    norm_at_end: float  # critic ‖θ‖ at the last monitored step

    @property
    def inflated_before_t0(self) -> bool:
        """T9's first rule: max |Q| passed the bound at a step before t0."""
        return self.inflated_at is not None and self.inflated_at < self.t0

    @property
    def norm_grew(self) -> bool:
        """T9's norm rule: the critic's ‖θ‖ is larger at the end than at t0."""
        return self.norm_at_end > self.norm_at_t0

    def settled(self, name: str, level: float) -> bool:
        """T9's cosine rule for one cosine: at least ``level`` at every snapshot from t0 on."""
        return self.min_cosine[name] >= level


def direction_record(q_steps: ArrayLike, q_abs_max: ArrayLike, norm_steps: ArrayLike,
                     param_norm: ArrayLike,
                     cosines: Mapping[str, tuple[ArrayLike, ArrayLike]], *,
                     fraction: float, q_bound: float) -> DirectionRecord:
    """A run's :class:`DirectionRecord`.

    The run's length is its last monitored Q step (its configured length, or the step where it
    stopped); :math:`t_0` is ``fraction`` of it. ``cosines`` maps a name to its (snapshot
    steps, cosine to the last snapshot) series.
    """
    if not cosines:
        raise ValueError("no cosine series given")
    run_length, _ = last_recorded(q_steps, q_abs_max)
    t0 = critical_step(run_length, fraction)
    minima = {name: minimum_from(t, y, t0) for name, (t, y) in cosines.items()}
    snapshot_steps = [tuple(np.asarray(t, dtype=float)) for t, _ in cosines.values()]
    if len(set(snapshot_steps)) != 1:
        raise ValueError("the cosine series hold different snapshot steps")
    return DirectionRecord(
        t0=t0, run_length=run_length,
        inflated_at=first_crossing_or_none(q_steps, q_abs_max, q_bound, strict=True),
        min_cosine=minima,
        snapshots_from_t0=sum(step >= t0 for step in snapshot_steps[0]),
        norm_at_t0=value_at_or_before(norm_steps, param_norm, t0),
        norm_at_end=last_recorded(norm_steps, param_norm)[1])
