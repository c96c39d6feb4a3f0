"""The events of Fig. 3 (right): Q inflating beyond any true value, and SEEM surging with it.

A run's monitors record max |Q| and the normalized SEEM at the same steps. Q has *inflated* at
the first step where max |Q| exceeds ``max|r| / (1 − γ)``, which no true value can. SEEM has
*surged* at the first step where the normalized SEEM exceeds its own step-0 value by more than
a fixed rise and stays there for a fixed number of monitored steps, so neither the level a
fresh critic already has nor an isolated spike counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seemrepro.core.predict import first_crossing_or_none

ArrayLike = Sequence[float] | np.ndarray


def first_sustained_crossing(steps: ArrayLike, values: ArrayLike, level: float, *,
                             persistence: int) -> int | None:
    """The first step from which ``persistence`` consecutive values exceed ``level`` (fewer
    when the record ends first), or ``None``. NaN never exceeds a level."""
    if persistence < 1:
        raise ValueError(f"persistence must be at least 1, got {persistence}")
    t, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"steps and values must be 1-D of equal length, got {t.shape}, {y.shape}")
    above = y > level
    for i in np.nonzero(above)[0]:
        if above[i:i + persistence].all():
            return int(t[i])
    return None


def steps_above(steps: ArrayLike, values: ArrayLike, level: float) -> list[int]:
    """Every recorded step whose value exceeds ``level`` (spikes as well as surges)."""
    t, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    return [int(x) for x in t[y > level]]


@dataclass(frozen=True)
class SurgeEvents:
    """One run's events and its normalized-SEEM summary."""

    inflated_at: int | None  # first step with max |Q| > q_bound
    surged_at: int | None  # first sustained step with SEEM > its step-0 value + rise
    seem_at_start: float
    seem_median: float
    seem_max: float

    @property
    def lead(self) -> int | None:
        """Steps by which the surge came before the inflation (negative: after)."""
        if self.inflated_at is None or self.surged_at is None:
            return None
        return self.inflated_at - self.surged_at


def surge_events(q_steps: ArrayLike, q_abs_max: ArrayLike, seem_steps: ArrayLike,
                 seem_normalized: ArrayLike, *, q_bound: float, rise: float,
                 persistence: int) -> SurgeEvents:
    """The inflation and surge events of one run (see the module's docstring)."""
    seem_t = np.asarray(seem_steps, dtype=float)
    seem_y = np.asarray(seem_normalized, dtype=float)
    if seem_y.size == 0 or seem_t[0] != 0:
        raise ValueError("the normalized SEEM must be recorded at step 0 (the fresh critic)")
    start = float(seem_y[0])
    return SurgeEvents(
        inflated_at=first_crossing_or_none(q_steps, q_abs_max, q_bound, strict=True),
        surged_at=first_sustained_crossing(seem_t, seem_y, start + rise,
                                           persistence=persistence),
        seem_at_start=start, seem_median=float(np.nanmedian(seem_y)),
        seem_max=float(np.nanmax(seem_y)))


def rule_break(events: SurgeEvents, q_steps: ArrayLike, q_abs_max: ArrayLike,
               seem_steps: ArrayLike, seem_normalized: ArrayLike, *, q_bound: float,
               rise: float, persistence: int) -> str | None:
    """A sentence on what a run did when it breaks the rules (its Q inflated without a
    sustained surge, or before it), from its own record; ``None`` when it follows them."""
    if events.inflated_at is None or (events.lead is not None and events.lead >= 0):
        return None
    q_t, q_y = np.asarray(q_steps, dtype=float), np.asarray(q_abs_max, dtype=float)
    seem_t = np.asarray(seem_steps, dtype=float)
    seem_y = np.asarray(seem_normalized, dtype=float)
    spikes = steps_above(seem_t, seem_y, events.seem_at_start + rise)
    at_inflation = (float(seem_y[seem_t == events.inflated_at][0])
                    if events.inflated_at in seem_t else None)
    return (f"max |Q| passed the bound {q_bound:.0f} at step {events.inflated_at} (peak "
            f"{q_y.max():.0f} at step {int(q_t[q_y.argmax()])}; {q_y[-1]:.0f} at the last step, "
            f"{int(q_t[-1])}"
            + (", back below the bound: Q touched it and fell back instead of diverging). "
               if q_y[-1] <= q_bound else "). ")
            + (f"Its normalized SEEM rose more than {rise} above its start at step(s) "
               f"{', '.join(map(str, spikes))}, never for {persistence} monitored steps in a row"
               if spikes and events.surged_at is None else
               f"Its SEEM surged at step {events.surged_at}, after the inflation"
               if events.surged_at else "Its normalized SEEM never rose that far")
            + (f"; at the inflation step it was {at_inflation:.2f}." if at_inflation is not None
               else "."))
