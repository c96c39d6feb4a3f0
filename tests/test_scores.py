"""Final scores per run and per variant: a run stopped at divergence has no score, Q inflation
against the data's bound, the rules that compare variants, and the score plot."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from seemrepro.engine.config import MonitorConfig, RunConfig, RunResult
from seemrepro.experiments.scores import (
    SCORE,
    at_least,
    beside_paper,
    best_value,
    final_value,
    final_window_start,
    mean_over,
    peak_drop,
    rank_of,
    ranks_first,
    run_scores,
    score_diverged_as,
    split_variant,
    task_aggregates,
    variant_scores,
    within,
)

STEPS = 400


def run(seed: int, score: float | None, q: list[float], seem: list[float] | None = None, *,
        diverged_at: int | None = None) -> RunResult:
    """A hand-made run: evaluated at step 0 (score 1.0) and, unless ``score`` is None, at its
    last step; max |Q| every 100 steps from 0; the normalized SEEM at the same steps."""
    config = RunConfig("td3", "seemrepro/hopper/medium-v0", seed=seed, steps=STEPS,
                       monitors=MonitorConfig(q_every=100, seem_every=100, eval_every=STEPS))
    rows = [(0, seed, "normalized_score", 1.0), (0, seed, "return", 10.0)]
    if score is not None:
        rows += [(STEPS, seed, "normalized_score", score), (STEPS, seed, "return", 100 * score)]
    rows += [(100 * i, seed, "q_abs_max", v) for i, v in enumerate(q)]
    rows += [(100 * i, seed, "seem_normalized", v) for i, v in enumerate(seem or [])]
    return RunResult(config, rows, diverged_at, 1.0)


def bound(_: RunConfig) -> float:
    return 50.0


VARIANTS = {
    "a": [run(0, 40.0, [1, 10, 20, 30, 40], [0.1, 0.2, 0.3, 0.2, 0.1]),
          run(1, 60.0, [1, 10, 60, 70, 80], [0.1, 0.5, 0.9, 0.9, 0.9])],
    "b": [run(0, None, [1, 100, 1e7], [0.1, 0.9, math.nan], diverged_at=200),
          run(1, 20.0, [1, 2, 3, 4, 5], [0.0, 0.0, 0.0, 0.0, 0.0])],
    "c": [run(0, None, [1, 1e7], [0.1, 0.95], diverged_at=100)],
}


def test_the_final_score_is_the_last_step_evaluation_only() -> None:
    assert final_value(VARIANTS["a"][0]) == 40.0
    assert final_value(VARIANTS["a"][0], "return") == 4000.0
    # a run stopped at divergence was evaluated at step 0 only: no final score
    assert math.isnan(final_value(VARIANTS["b"][0]))


def test_run_scores_per_run() -> None:
    runs = run_scores(VARIANTS, bound=bound)
    assert list(runs["variant"]) == ["a", "a", "b", "b", "c"]
    assert list(runs["seed"]) == [0, 1, 0, 1, 0]
    assert runs["score"].tolist()[:2] == [40.0, 60.0] and runs["score"].isna().tolist() == [
        False, False, True, False, True]
    assert runs["diverged at"].tolist() == [pd.NA, pd.NA, 200, pd.NA, 100]
    # Q inflates at the first step strictly above the bound (50): 200 for a/1, 100 for b/0
    assert runs["Q inflated at"].tolist() == [pd.NA, 200, 100, pd.NA, 100]
    assert runs["max |Q|"].tolist() == [40, 80, 1e7, 5, 1e7]
    assert runs["max SEEM"].tolist() == [0.3, 0.9, 0.9, 0.0, 0.95]  # NaN ignored
    assert (runs["Q bound"] == 50.0).all()


def test_variant_scores_leave_a_diverged_run_out_of_the_mean() -> None:
    summary = variant_scores(run_scores(VARIANTS, bound=bound))
    assert list(summary.index) == ["a", "b", "c"]
    assert summary.loc["a", "mean score"] == 50.0
    assert summary.loc["a", "std"] == pytest.approx(np.std([40, 60], ddof=1))
    # b: its diverged run is missing, not a zero; half of its runs diverged
    assert summary.loc["b", "mean score"] == 20.0 and summary.loc["b", "scored"] == 1
    assert summary.loc["b", "diverged"] == 0.5 and summary.loc["b", "Q inflated"] == 0.5
    assert math.isnan(summary.loc["b", "std"])
    # c: every run diverged, so the variant has no score
    assert math.isnan(summary.loc["c", "mean score"]) and summary.loc["c", "diverged"] == 1.0
    assert summary.loc["a", "Q inflated"] == 0.5 and summary.loc["c", "max SEEM"] == 0.95


def test_split_variant_and_mean_over_datasets() -> None:
    named = {"hopper · LN": VARIANTS["a"], "hopper · none": VARIANTS["b"],
             "walker2d · LN": VARIANTS["b"], "walker2d · none": VARIANTS["c"]}
    runs = split_variant(run_scores(named, bound=bound), ["data", "critic"])
    assert list(runs.columns[:3]) == ["data", "critic", "seed"]
    summary = variant_scores(runs, ["data", "critic"])
    means = mean_over(summary, "data")
    assert list(means.index) == ["LN", "none"]
    assert means["LN"] == 35.0  # (50 + 20) / 2
    assert math.isnan(means["none"])  # no score on walker2d: no mean over the datasets
    with pytest.raises(ValueError, match="index level"):
        mean_over(summary, "seed")
    with pytest.raises(ValueError, match="does not split"):
        split_variant(run_scores({"hopper": VARIANTS["a"]}, bound=bound), ["data", "critic"])


def test_a_diverged_run_can_be_scored_as_a_stated_value() -> None:
    runs = run_scores(VARIANTS, bound=bound)
    filled = score_diverged_as(runs, 0.0)
    assert filled["score"].tolist() == [40.0, 60.0, 0.0, 20.0, 0.0]
    assert runs["score"].isna().sum() == 2  # the input is left as it was


def test_task_aggregates_total_the_task_means_and_bootstrap_the_iqm() -> None:
    named = {"TD3 · hopper · LN": VARIANTS["a"], "TD3 · walker2d · LN": VARIANTS["b"],
             "TD3 · hopper · none": VARIANTS["b"], "TD3 · walker2d · none": VARIANTS["c"]}
    runs = split_variant(run_scores(named, bound=bound), ["algorithm", "task", "critic"])
    table = task_aggregates(runs, ["algorithm", "critic"])
    assert list(table.index) == [("TD3", "LN"), ("TD3", "none")]
    ln = table.loc[("TD3", "LN")]
    assert ln["tasks"] == 2 and ln["runs"] == 4
    assert ln["total"] == 50.0 + 20.0  # hopper's mean (40, 60) + walker2d's only scored run
    # IQM of the three scores 40, 60, 20 (nothing cut from three values) and its interval
    assert ln["IQM"] == pytest.approx(40.0)
    assert 20.0 <= ln["IQM low"] <= ln["IQM"] <= ln["IQM high"] <= 60.0
    assert ln["Q inflated"] == 0.5 and ln["max |Q|"] == 1e7
    # every walker2d run without LN diverged: that task, so the total, has no score ...
    assert math.isnan(table.loc[("TD3", "none"), "total"])
    # ... unless diverged runs are scored as a stated value
    filled = task_aggregates(score_diverged_as(runs, 0.0), ["algorithm", "critic"])
    assert filled.loc[("TD3", "none"), "total"] == 10.0 + 0.0  # hopper (0, 20), walker2d (0)


def test_beside_paper_looks_up_by_name() -> None:
    summary = variant_scores(run_scores(VARIANTS, bound=bound))
    out = beside_paper(summary, {"a": 72.7, "c": 1.6}, label="paper")
    assert out["paper"].tolist()[0] == 72.7 and math.isnan(out.loc["b", "paper"])
    assert "paper" not in summary.columns
    with pytest.raises(ValueError, match="not in the frame"):
        beside_paper(summary, {"A": 1.0})
    indexed = variant_scores(split_variant(run_scores({"h · LN": VARIANTS["a"],
                                                       "w · LN": VARIANTS["b"]}, bound=bound),
                                           ["data", "critic"]), ["data", "critic"])
    assert beside_paper(indexed, {"LN": 72.7}, level="critic")["paper"].tolist() == [72.7, 72.7]


def test_the_comparison_rules_treat_a_missing_score_as_no_score() -> None:
    nan = math.nan
    assert at_least(70.0, [72.0, 10.0], 5.0) and not at_least(70.0, [76.0], 5.0)
    assert at_least(70.0, [nan, None], 5.0)  # no rival with a score
    assert not at_least(nan, [1.0], 5.0) and not at_least(None, [], 5.0)
    assert ranks_first({"LN": 50.0, "BN": 50.0, "WN": nan}, "LN")
    assert not ranks_first({"LN": 50.0, "BN": 51.0}, "LN")
    assert not ranks_first({"LN": nan, "BN": 1.0}, "LN")
    assert rank_of({"LN": 50.0, "BN": 51.0, "WN": nan, "none": 60.0}, "LN") == 3
    assert rank_of({"LN": nan, "BN": 1.0}, "LN") is None
    assert within(72.7, 72.8, 10.0) and not within(72.7, 50.0, 10.0)
    assert not within(nan, nan, 10.0) and not within(None, 1.0, 10.0)


def test_score_dots_and_q_curves_draw_every_run() -> None:
    from seemrepro.plots import figure
    from seemrepro.plots.scores import NO_SCORE_LABEL, q_curves, score_dots

    runs = run_scores(VARIANTS, bound=bound)
    _, axes = figure(2)
    score_dots(axes[0], runs, paper={"a": 72.7, "c": 1.6}, paper_label="paper")
    lines = axes[0].get_lines()
    points = [line for line in lines if line.get_marker() == "o"]
    assert sorted(float(y) for line in points for y in line.get_ydata()) == [20.0, 40.0, 60.0]
    crosses = [line for line in lines if line.get_marker() == "x"]
    assert sum(len(line.get_xdata()) for line in crosses) == 2  # b/0 and c/0
    diamonds = [line for line in lines if line.get_marker() == "D"]
    assert [float(line.get_ydata()[0]) for line in diamonds] == [72.7, 1.6]
    labels = axes[0].get_legend_handles_labels()[1]
    assert labels.count(NO_SCORE_LABEL) == 1 and labels.count("paper") == 1
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["a", "b", "c"]
    low, high = axes[0].get_ylim()  # zero in view, and the crosses below every score
    assert low < -0.1 * (high - low) and high >= 72.7
    q_curves(axes[1], {name: [r.series("q_abs_max") for r in rs]
                       for name, rs in VARIANTS.items()}, q_bound=50.0)
    assert len(axes[1].get_lines()) == 6 and axes[1].get_yscale() == "log"


def curve_run(scores: list[float], *, steps: int | None = None) -> RunResult:
    """Evaluated at step 0 (score 0) and every 100 steps after it, ``scores`` in order; the
    run lasts ``steps`` (default: to its last evaluation)."""
    config = RunConfig("td3", "seemrepro/hopper/medium-v0",
                       steps=steps or 100 * max(1, len(scores)),
                       monitors=MonitorConfig(q_every=100, eval_every=100))
    rows = [(0, 0, "normalized_score", 0.0)]
    rows += [(100 * (i + 1), 0, "normalized_score", v) for i, v in enumerate(scores)]
    return RunResult(config, rows, None, 1.0)


def test_the_average_of_the_last_evaluations_and_the_best() -> None:
    rising_then_falling = curve_run([10.0, 80.0, 40.0, 20.0])
    assert final_value(rising_then_falling, last=2) == 30.0
    assert final_value(rising_then_falling, last=10) == 37.5  # all four trained evaluations
    assert best_value(rising_then_falling) == 80.0
    stopped = curve_run([10.0, 90.0], steps=400)
    assert math.isnan(final_value(stopped, last=2))  # never evaluated at its last step
    assert best_value(stopped) == 90.0  # its best before divergence still counts
    assert math.isnan(best_value(curve_run([])))
    with pytest.raises(ValueError, match="last"):
        final_value(rising_then_falling, last=0)
    runs = run_scores({"v": [rising_then_falling, stopped]}, bound=bound, last=2)
    assert runs["score"].tolist()[0] == 30.0 and runs["best score"].tolist() == [80.0, 90.0]
    assert variant_scores(runs).loc["v", "mean best"] == 85.0
    assert variant_scores(run_scores(VARIANTS, bound=bound))["max |Q|"].tolist() == [80, 1e7, 1e7]
    # the drop below the best is over the scored run only (the stopped one has no final score)
    assert peak_drop(runs).to_dict() == {"v": 50.0}


def test_score_curves_draw_each_run_and_the_mean_where_all_runs_reached() -> None:
    from seemrepro.plots import figure
    from seemrepro.plots.scores import score_curves

    full = [curve_run([10.0, 80.0, 40.0, 20.0]), curve_run([30.0, 60.0, 20.0, 40.0])]
    stopped = [curve_run([10.0, 90.0], steps=400), curve_run([20.0, 50.0, 30.0, 10.0])]
    _, axes = figure()
    ax = axes[0]
    score_curves(ax, {"a": [r.series(SCORE) for r in full],
                      "b": [r.series(SCORE) for r in stopped]}, final_from=200.0)
    thick = {line.get_label(): line for line in ax.get_lines() if line.get_linewidth() > 2}
    np.testing.assert_allclose(thick["a"].get_ydata(), [0.0, 20.0, 70.0, 30.0, 30.0])
    np.testing.assert_allclose(thick["b"].get_xdata(), [0, 100, 200])  # where both runs were
    np.testing.assert_allclose(thick["b"].get_ydata(), [0.0, 15.0, 70.0])
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and float(crosses[0].get_xdata()[0]) == 200.0
    assert "final-score window" in ax.get_legend_handles_labels()[1]


def test_paired_bars_draw_one_bar_per_value_and_an_interval_where_given() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from seemrepro.plots.scores import paired_bars

    fig, ax = plt.subplots()
    paired_bars(ax, ["TD3+BC · 1%", "TD3+BC · 100%"],
                {"none": [10.0, 80.0], "LN": [math.nan, 75.0]},
                low={"none": [5.0, 70.0], "LN": [math.nan, 60.0]},
                high={"none": [15.0, 90.0], "LN": [math.nan, 85.0]})
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == [10.0, 75.0, 80.0]  # the missing LN value has no bar
    assert len(ax.collections) == 2  # one set of intervals per series
    assert [t.get_text() for t in ax.get_xticklabels()] == ["TD3+BC · 1%", "TD3+BC · 100%"]
    with pytest.raises(ValueError, match="2 groups"):
        paired_bars(ax, ["a", "b"], {"none": [1.0]})
    plt.close(fig)


def test_the_x_percent_runs_are_split_and_a_diverged_run_scores_zero() -> None:
    from seemrepro.experiments.grids import a1

    named = {a1.variant_label("TD3+BC", "hopper/medium", 0.01, "none"): VARIANTS["b"]}
    runs = a1.scored_runs(named)
    assert list(runs.columns[:5]) == [*a1.COLUMNS, "seed"]
    assert runs["X"].tolist() == ["1%", "1%"]
    assert runs["score"].tolist() == [a1.DIVERGED_SCORE, 20.0]


def test_median_final_value_skips_runs_stopped_before_their_last_step() -> None:
    from seemrepro.experiments.scores import median_final_value

    # "b": seed 0 stopped at divergence (no final score), seed 1 ended at 20
    assert median_final_value(VARIANTS["b"], "normalized_score") == 20.0
    assert median_final_value(VARIANTS["a"], "normalized_score") == 50.0
    assert math.isnan(median_final_value(VARIANTS["c"], "normalized_score"))


def test_the_final_window_starts_half_an_interval_before_the_last_evaluations() -> None:
    config = RunConfig("td3", "seemrepro/hopper/medium-v0", steps=60_000,
                       monitors=MonitorConfig(eval_every=6000))
    assert final_window_start(config, 3) == 60_000 - 2.5 * 6000
    assert final_window_start(config, 1) == 60_000 - 0.5 * 6000
