"""Scoring warning signals: AUC, bootstrap interval, checkpoint values, rules and lead times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seemrepro.core.predict import value_at_or_before as value_at
from seemrepro.core.warning import (
    RunRecord,
    auc,
    auc_interval,
    checkpoint_aucs,
    lead_times,
    oriented,
    positive_seem_rule,
    surge_rule,
)


def test_auc_matches_counting_pairs_with_ties_as_half() -> None:
    assert auc([3, 4], [1, 2]) == 1.0
    assert auc([1, 2], [3, 4]) == 0.0
    # pairs: (2,1) win, (2,2) tie, (2,3) loss, (5,·) three wins -> (1 + .5 + 0 + 3) / 6
    assert auc([2, 5], [1, 2, 3]) == pytest.approx(4.5 / 6)


def test_auc_leaves_out_nan_and_ranks_infinity_as_extreme() -> None:
    assert auc([math.inf, math.nan], [1e30]) == 1.0
    assert math.isnan(auc([math.nan], [1.0]))
    assert math.isnan(auc([1.0], []))


def test_auc_interval_contains_the_estimate_and_is_degenerate_when_perfect() -> None:
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(1.0, 1.0, 30), rng.normal(0.0, 1.0, 30)
    low, high = auc_interval(pos, neg, resamples=500)
    assert low < auc(pos, neg) < high and 0.0 <= low and high <= 1.0
    assert auc_interval([5, 6], [1, 2], resamples=50) == (1.0, 1.0)


def test_value_at_takes_the_last_value_at_or_before_the_step() -> None:
    t, y = [0, 100, 200], [1.0, 2.0, 3.0]
    assert value_at(t, y, 150) == 2.0
    assert value_at(t, y, 200) == 3.0
    assert value_at(t, y, 10_000) == 3.0  # a run stopped early keeps its last value
    assert math.isnan(value_at([100], [1.0], 50))


def test_srank_is_oriented_so_that_larger_means_divergence() -> None:
    np.testing.assert_array_equal(oriented("srank", [3.0, 1.0]), [-3.0, -1.0])
    np.testing.assert_array_equal(oriented("seem", [3.0]), [3.0])
    with pytest.raises(ValueError, match="no direction"):
        oriented("nonsense", [1.0])


def run(name: str, event: int | None, seem: list[float], q: list[float]) -> RunRecord:
    t = np.arange(len(seem), dtype=float) * 100
    return RunRecord(name, 1000, event, {"seem_normalized": (t, np.array(seem)),
                                         "seem": (t, np.array(seem) - 0.2),
                                         "q_abs_max": (t, np.array(q))})


def test_checkpoint_aucs_separate_a_signal_that_rises_only_in_diverging_runs() -> None:
    runs = [run("a", 300, [0.0, 0.8, 0.9, 0.9], [1, 2, 3, 1e4]),
            run("b", None, [0.0, 0.1, 0.0, 0.1], [1, 2, 4, 5])]
    rows = {(r["signal"], r["checkpoint"]): r for r in
            checkpoint_aucs(runs, ["seem_normalized", "q_abs_max"], [0.1, 0.3], resamples=20)}
    assert rows["seem_normalized", 0.1]["AUC"] == 1.0
    assert rows["q_abs_max", 0.1]["AUC"] == 0.5  # equal at step 100
    assert rows["q_abs_max", 0.3]["AUC"] == 1.0
    early = checkpoint_aucs(runs, ["q_abs_max"], [0.3], resamples=20, before_event_only=True)
    assert early[0]["diverged with a value"] == 0 and math.isnan(float(early[0]["AUC"]))


def test_surge_and_sign_rules_fire_where_fixed_and_lead_times_count_false_alarms() -> None:
    diverging = run("a", 300, [0.0, 0.5, 0.6, 0.7], [1, 2, 3, 1e4])
    calm = run("b", None, [0.0, 0.1, 0.0, 0.1], [1, 2, 4, 5])
    surge = lead_times([diverging, calm], surge_rule(0.3, 3))
    assert surge[0]["fired at"] == 100 and surge[0]["lead"] == 200
    assert surge[1]["fired at"] is None and surge[1]["false alarm"] is False
    sign = lead_times([diverging, calm], positive_seem_rule(2))
    assert sign[0]["fired at"] == 100  # seem = normalized − 0.2 > 0 from step 100 on
    assert sign[1]["fired at"] is None


def test_auc_plot_draws_one_line_per_signal_and_the_lead_strip_one_row_per_rule() -> None:
    import pandas as pd

    from seemrepro import plots
    from seemrepro.plots.warning import auc_by_checkpoint, lead_strip

    runs = [run("a", 300, [0.0, 0.8, 0.9, 0.9], [1, 2, 3, 1e4]),
            run("b", None, [0.0, 0.1, 0.0, 0.1], [1, 2, 4, 5])]
    aucs = pd.DataFrame(checkpoint_aucs(runs, ["seem_normalized", "q_abs_max", "seem"],
                                        [0.1, 0.3], resamples=10))
    fig, axes = plots.figure(2, 1)
    auc_by_checkpoint(axes[0], aucs)
    assert len(axes[0].get_lines()) == 3 + 1  # three signals and the chance line
    lead_strip(axes[1], {"SEEM surge": np.array([200.0]), "SEEM > 0": np.array([])})
    assert [t.get_text() for t in axes[1].get_yticklabels()] == ["SEEM surge", "SEEM > 0"]
    plots.plt.close(fig)


def test_named_colors_keep_the_fixed_ones_and_give_the_others_distinct_colours() -> None:
    from seemrepro.plots import named_colors

    colors = named_colors(["none", "LN", "BN", "WN"], {"none": "#c44e52", "LN": "#4c72b0"})
    assert colors["none"] == "#c44e52" and colors["LN"] == "#4c72b0"
    assert len(set(colors.values())) == 4


def test_rule_summary_counts_hits_late_misses_and_false_alarms() -> None:
    from seemrepro.core.warning import rule_summary

    rows = [{"fired at": 100, "diverged at": 300, "lead": 200, "false alarm": False},
            {"fired at": 400, "diverged at": 300, "lead": -100, "false alarm": False},
            {"fired at": None, "diverged at": 300, "lead": None, "false alarm": False},
            {"fired at": 50, "diverged at": None, "lead": None, "false alarm": True},
            {"fired at": None, "diverged at": None, "lead": None, "false alarm": False}]
    summary = rule_summary("r", rows)
    assert summary == {"rule": "r", "diverged runs": 3, "fired first (lead ≥ 0)": 1,
                       "fired late (lead < 0)": 1, "never fired": 1, "false alarms": 1,
                       "bounded runs": 2, "median lead": 50.0}
    assert math.isnan(float(rule_summary("r", rows[3:])["median lead"]))  # type: ignore[arg-type]
