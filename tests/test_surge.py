"""Fig. 3 (right)'s events: Q inflation and a sustained SEEM surge relative to step 0."""

from __future__ import annotations

import math

import pytest

from seemrepro.core.surge import first_sustained_crossing, surge_events

STEPS = [0, 50, 100, 150, 200, 250]


def test_an_isolated_spike_is_not_a_sustained_crossing() -> None:
    assert first_sustained_crossing(STEPS, [0, 0.9, 0, 0, 0, 0], 0.3, persistence=3) is None
    assert first_sustained_crossing(STEPS, [0, 0.9, 0, 0.5, 0.6, 0.7], 0.3, persistence=3) == 150
    assert first_sustained_crossing(STEPS, [0, 0.9, 0, 0.5, 0.6, 0.7], 0.3, persistence=1) == 50
    # the record ends: fewer than `persistence` values left still count when all exceed
    assert first_sustained_crossing(STEPS, [0, 0, 0, 0, 0, 0.7], 0.3, persistence=3) == 250
    assert first_sustained_crossing(STEPS, [0, 0.5, math.nan, 0.5, 0.7, 0], 0.3,
                                    persistence=3) is None
    with pytest.raises(ValueError, match="persistence"):
        first_sustained_crossing(STEPS, [0] * 6, 0.3, persistence=0)


def test_steps_above_lists_spikes_and_surges() -> None:
    from seemrepro.core.surge import steps_above

    assert steps_above(STEPS, [0, 0.9, 0, 0.5, math.nan, 0.7], 0.3) == [50, 150, 250]
    assert steps_above(STEPS, [0] * 6, 0.3) == []


def test_the_surge_is_relative_to_the_fresh_critic() -> None:
    # a fresh level of 0.25 that never rises by 0.3 is no surge, although it passes 0.3
    calm = surge_events(STEPS, [1, 2, 3, 4, 5, 6], STEPS, [0.25, 0.35, 0.4, 0.5, 0.45, 0.5],
                        q_bound=100, rise=0.3, persistence=3)
    assert calm.surged_at is None and calm.inflated_at is None and calm.lead is None
    assert calm.seem_at_start == 0.25 and calm.seem_max == 0.5
    surging = surge_events(STEPS, [1, 50, 150, 400, 900, 2000], STEPS,
                           [0.05, 0.1, 0.6, 0.9, 0.9, 0.9], q_bound=100, rise=0.3,
                           persistence=3)
    assert (surging.surged_at, surging.inflated_at, surging.lead) == (100, 100, 0)
    late = surge_events(STEPS, [1, 150, 400, 900, 2000, 4000], STEPS,
                        [0.05, 0.1, 0.6, 0.9, 0.9, 0.9], q_bound=100, rise=0.3, persistence=3)
    assert late.lead == -50
    with pytest.raises(ValueError, match="step 0"):
        surge_events(STEPS, [1] * 6, STEPS[1:], [0.1] * 5, q_bound=1, rise=0.3, persistence=1)


def test_a_rule_break_is_described_from_the_record() -> None:
    from seemrepro.core.surge import rule_break

    q = [1, 50, 300, 120, 80, 60]
    seem = [0.0, 0.5, 0.0, 0.0, 0.6, 0.0]
    events = surge_events(STEPS, q, STEPS, seem, q_bound=100, rise=0.3, persistence=3)
    text = rule_break(events, STEPS, q, STEPS, seem, q_bound=100, rise=0.3, persistence=3)
    assert text is not None and "at step 100 (peak 300 at step 100" in text
    assert "fell back" in text and "step(s) 50, 200, never for 3" in text
    assert text.endswith("; at the inflation step it was 0.00.")
    calm = [0.0, 0.5, 0.9, 0.9, 0.9, 0.9]
    surged = surge_events(STEPS, q, STEPS, calm, q_bound=100, rise=0.3, persistence=3)
    assert rule_break(surged, STEPS, q, STEPS, calm, q_bound=100, rise=0.3,
                      persistence=3) is None


def test_surge_panels_draw_one_line_per_run_and_the_bound() -> None:
    import numpy as np

    from seemrepro import plots
    from seemrepro.plots.surge import surge_panels

    t = np.arange(0, 200, 50.0)
    run = (t, np.array([0.0, 0.5, 0.9, 0.9]), t, np.array([1.0, 10.0, 1e3, 1e5]))
    fig, (seem_ax, q_ax) = plots.figure(2)
    surge_panels(seem_ax, q_ax, {"no LN": [run, run], "LN": [run]}, q_bound=250.0, title="x")
    assert len(seem_ax.get_lines()) == 3 + 1  # three runs and the zero line
    assert len(q_ax.get_lines()) == 3 + 1  # three runs and the bound
    assert q_ax.get_yscale() == "log"
    plots.plt.close(fig)
