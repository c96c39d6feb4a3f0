"""The stratified bootstrap and the interquartile mean (aggregate scores over tasks)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from seemrepro.core.bootstrap import iqm, iqm_interval, stratified_bootstrap


@pytest.mark.parametrize("n", [1, 3, 4, 7, 8, 10])
def test_iqm_is_the_mean_of_the_middle_half_as_scipy_trims_it(n: int) -> None:
    values = np.random.default_rng(n).normal(size=n)
    assert iqm(values) == pytest.approx(stats.trim_mean(values, 0.25))


def test_iqm_ignores_outliers_and_nan() -> None:
    assert iqm([1.0, 2.0, 3.0, 1000.0]) == 2.5  # the extremes 1 and 1000 are cut
    assert iqm([1.0, math.nan, 3.0]) == 2.0
    assert math.isnan(iqm([math.nan]))


def test_each_group_keeps_its_size_and_draws_only_its_own_values() -> None:
    seen: list[tuple[int, int]] = []

    def statistic(groups: list[np.ndarray]) -> float:
        assert set(groups[0]) <= {1.0, 2.0} and set(groups[1]) <= {10.0, 20.0, 30.0}
        seen.append((groups[0].size, groups[1].size))
        return float(groups[0].mean() + groups[1].mean())

    low, high = stratified_bootstrap([[1.0, 2.0], [10.0, 20.0, 30.0]], statistic, resamples=50)
    assert set(seen) == {(2, 3)} and len(seen) == 50
    assert 11.0 <= low <= high <= 32.0


def test_the_interval_is_deterministic_and_narrows_with_more_runs() -> None:
    rng = np.random.default_rng(0)
    few = {"a": rng.normal(50, 10, 5), "b": rng.normal(20, 10, 5)}
    many = {"a": rng.normal(50, 10, 200), "b": rng.normal(20, 10, 200)}
    point, low, high = iqm_interval(few, seed=3)
    assert (point, low, high) == iqm_interval(few, seed=3)
    assert low <= point <= high
    _, low_many, high_many = iqm_interval(many, seed=3)
    assert high_many - low_many < high - low


def test_bad_input_is_a_clear_error_or_nan() -> None:
    with pytest.raises(ValueError, match="level"):
        stratified_bootstrap([[1.0]], lambda g: 0.0, level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        stratified_bootstrap([[1.0]], lambda g: 0.0, resamples=0)
    with pytest.raises(ValueError, match="no tasks"):
        iqm_interval({})
    assert all(math.isnan(v) for v in stratified_bootstrap([[1.0], [math.nan]], lambda g: 0.0))
