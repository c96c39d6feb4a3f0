"""T8's corner ratios and T9's directions after t0 (seemrepro.core.directions), and their plots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seemrepro.core.directions import (
    DirectionRecord,
    corner_norm,
    corner_ratio,
    corner_record,
    critical_step,
    direction_record,
    last_recorded,
    minimum_from,
    settled_from,
    value_at_or_before,
)

STEPS = [0, 50, 100, 150, 200]


def test_corner_ratio_is_one_at_the_corners_and_known_inside() -> None:
    assert corner_norm(2.0, 4) == pytest.approx(4.0)
    corners = torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, -1.0]])
    assert corner_ratio(corners, 1.0) == pytest.approx(1.0)
    # (‖(1, 1)‖ + ‖(0, 0)‖) / 2 / √2 = 0.5; a face centre (1, 0) is 1/√2 of a corner
    assert corner_ratio(np.array([[1.0, 1.0], [0.0, 0.0]]), 1.0) == pytest.approx(0.5)
    assert corner_ratio(np.array([[1.0, 0.0]]), 1.0) == pytest.approx(1 / math.sqrt(2))
    assert corner_ratio(np.array([[0.5, 0.5]]), 0.5) == pytest.approx(1.0)
    assert corner_ratio(np.array([[0.5, 0.5]]), 1.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        corner_ratio(np.zeros((0, 3)), 1.0)
    with pytest.raises(ValueError):
        corner_norm(0.0, 3)


def test_last_recorded_and_value_at_or_before() -> None:
    assert last_recorded(STEPS, [1, 2, 3, 4, 5]) == (200, 5.0)
    assert value_at_or_before(STEPS, [1, 2, 3, 4, 5], 120) == 3.0
    assert value_at_or_before(STEPS, [1, 2, 3, 4, 5], 100) == 3.0
    assert math.isnan(value_at_or_before(STEPS[1:], [2, 3, 4, 5], 10))
    with pytest.raises(ValueError, match="empty"):
        last_recorded([], [])
    with pytest.raises(ValueError, match="increase"):
        last_recorded([0, 100, 50], [1, 2, 3])


def test_corner_record_reads_the_last_monitored_step() -> None:
    # a run stopped at divergence: its record ends at step 150
    record = corner_record(STEPS[:4], [1, 50, 150, 2e6], STEPS[:4], [0.1, 0.6, 0.95, 0.97],
                           [0.6] * 4, q_bound=100)
    assert (record.inflated_at, record.last_step) == (100, 150)
    assert (record.policy_ratio, record.data_ratio, record.q_abs_max) == (0.97, 0.6, 2e6)
    assert record.inflated and record.at_corner(0.9) and not record.at_corner(0.98)
    assert record.data_below(0.8) and not record.data_below(0.5)
    # max |Q| equal to the bound has not passed it; the last value counts, not the maximum
    calm = corner_record(STEPS, [1, 5, 100, 50, 20], STEPS, [0.1, 0.95, 0.9, 0.85, 0.7],
                         [0.6] * 5, q_bound=100)
    assert calm.inflated_at is None and not calm.inflated
    assert calm.policy_below(0.8) and not calm.policy_below(0.6)
    nan = corner_record(STEPS, [1] * 5, STEPS, [0.1, 0.2, 0.3, 0.4, math.nan], [0.6] * 5,
                        q_bound=100)
    assert not nan.at_corner(0.0) and not nan.policy_below(1.0)


def test_critical_step_and_minimum_from() -> None:
    assert critical_step(10_000, 0.5) == 5000
    with pytest.raises(ValueError):
        critical_step(10_000, 1.0)
    assert minimum_from(STEPS, [0.1, 0.2, 0.95, 0.93, 1.0], 100) == 0.93
    assert minimum_from(STEPS, [0.1, 0.2, 0.95, 0.93, 1.0], 101) == 0.93
    assert math.isnan(minimum_from(STEPS, [0.1, 0.2, math.nan, 0.93, 1.0], 100))
    with pytest.raises(ValueError, match="after step"):
        minimum_from(STEPS, [0.1] * 5, 201)


def test_settled_from_is_the_start_of_the_final_run_above_the_level() -> None:
    assert settled_from(STEPS, [0.1, 0.95, 0.5, 0.91, 1.0], 0.9) == 150
    assert settled_from(STEPS, [0.95, 0.95, 0.95, 0.91, 1.0], 0.9) == 0
    assert settled_from(STEPS, [0.95, 0.95, 0.95, 0.91, 0.5], 0.9) is None
    assert settled_from(STEPS, [0.95, math.nan, 0.95, 0.91, 1.0], 0.9) == 100


def _direction(cos_actions: list[float], q: list[float], norm: list[float]) -> DirectionRecord:
    snapshots = [0, 100, 200, 300, 400]
    cosines = {"cos_critic_params": (snapshots, [0.2, 0.8, 0.95, 0.99, 1.0]),
               "cos_actions": (snapshots, cos_actions)}
    q_steps = [0, 100, 200, 300, 400]
    return direction_record(q_steps, q, q_steps, norm, cosines, fraction=0.5, q_bound=100)


def test_direction_record_applies_t9s_rules() -> None:
    good = _direction([0.5, 0.7, 0.9, 0.97, 1.0], [1, 150, 1e3, 1e4, 1e5], [10, 12, 15, 20, 25])
    assert good.t0 == 200 and good.run_length == 400 and good.snapshots_from_t0 == 3
    assert good.inflated_at == 100 and good.inflated_before_t0
    assert good.min_cosine == {"cos_critic_params": 0.95, "cos_actions": 0.9}
    assert good.settled("cos_critic_params", 0.9) and good.settled("cos_actions", 0.9)
    assert not good.settled("cos_actions", 0.91)
    assert (good.norm_at_t0, good.norm_at_end) == (15, 25) and good.norm_grew
    # Q passing the bound exactly at t0 is not before it; a norm that shrank did not grow
    late = _direction([0.5, 0.7, 0.9, 0.97, 1.0], [1, 50, 150, 1e4, 1e5], [10, 12, 30, 20, 25])
    assert late.inflated_at == 200 and not late.inflated_before_t0 and not late.norm_grew
    never = _direction([0.5, 0.7, 0.9, 0.97, 1.0], [1, 2, 3, 4, 5], [10, 12, 15, 20, 25])
    assert never.inflated_at is None and not never.inflated_before_t0
    # a dip after t0 breaks the rule even though the cosine ends at 1
    dip = _direction([0.5, 0.7, 0.95, 0.6, 1.0], [1, 150, 1e3, 1e4, 1e5], [10, 12, 15, 20, 25])
    assert dip.min_cosine["cos_actions"] == 0.6 and not dip.settled("cos_actions", 0.9)


def test_direction_record_stops_with_the_run() -> None:
    # a run stopped at step 300: t0 is half of 300, and ‖θ‖ at t0 is the value at step 100
    snapshots = [0, 100, 200, 300]
    record = direction_record([0, 100, 200, 300], [1, 150, 1e3, 1e4], [0, 100, 200, 300],
                              [10, 12, 15, 20], {"cos_ntk": (snapshots, [0.1, 0.5, 0.9, 1])},
                              fraction=0.5, q_bound=100)
    assert record.t0 == 150 and record.norm_at_t0 == 12 and record.snapshots_from_t0 == 2
    assert record.min_cosine["cos_ntk"] == 0.9
    with pytest.raises(ValueError, match="different snapshot"):
        direction_record([0, 100, 200, 300], [1] * 4, [0, 100, 200, 300], [1] * 4,
                         {"a": (snapshots, [1] * 4), "b": ([0, 200, 300], [1] * 3)},
                         fraction=0.5, q_bound=100)


def test_plots_draw_every_run_and_reference_line() -> None:
    from seemrepro import plots
    from seemrepro.plots.directions import (
        COSINE_TITLES,
        DirectionTrace,
        corner_panel,
        direction_panels,
    )

    _, axes = plots.figure(1)
    t = np.array([0.0, 50.0, 100.0])
    corner_panel(axes[0], {"none": [(t, np.array([0.1, 0.9, 1.0]))] * 2,
                           "BN": [(t, np.array([0.1, 0.3, 0.5]))]}, data_ratio=0.6,
                 levels={"corner": 0.9})
    lines = axes[0].get_lines()
    assert len(lines) == 5  # three runs, the dataset's ratio, one level
    assert lines[0].get_linewidth() > lines[2].get_linewidth()  # 'none' bold, 'BN' light
    assert list(lines[3].get_ydata()) == [0.6, 0.6]

    _, axes = plots.figure(3, 2)
    s = np.array([0.0, 100.0, 200.0])
    trace = DirectionTrace("seed 0", {name: (s, np.array([0.3, 0.95, 1.0]))
                                      for name in COSINE_TITLES},
                           (t, np.array([1.0, 2.0, 3.0])), (t, np.array([1.0, 1e3, 1e6])),
                           t0=100.0)
    direction_panels(list(axes), [trace, trace], cosine_level=0.9, q_bound=500.0)
    assert axes[5].get_yscale() == "log"
    assert any(list(line.get_xdata()) == [100.0, 100.0] for line in axes[0].get_lines())
    with pytest.raises(ValueError, match="six axes"):
        direction_panels(list(axes[:4]), [trace], cosine_level=0.9, q_bound=1.0)
