import math

import numpy as np
import pytest
import torch

from seemrepro.core.predict import critical_point, seem_predicts
from seemrepro.core.toy import rightmost_eigenvector, run_toy


def test_critical_point_is_the_first_stable_stretch() -> None:
    steps = [0, 10, 20, 30, 40, 50, 60]
    cosines = [math.nan, 0.995, 0.5, 0.999, 0.999, 0.999, 0.2]
    point = critical_point(steps, cosines, level=0.99, stretch=3)
    assert point is not None and (point.t0, point.known_at) == (30, 50)
    assert critical_point(steps, cosines, level=0.99, stretch=4) is None
    assert critical_point([0, 10], [math.nan, 1.0], level=0.99, stretch=1) is not None
    with pytest.raises(ValueError):
        critical_point(steps, cosines, level=0.99, stretch=0)


def test_zero_tolerance_treats_round_off_as_zero() -> None:
    verdict = seem_predicts([0, 10], [0.0, 5e-5], step=10, diverged_at=None, zero_tolerance=1e-4)
    assert not verdict.predicts_divergence and verdict.correct
    assert seem_predicts([0, 10], [0.0, 5e-5], step=10, diverged_at=None).predicts_divergence
    with pytest.raises(ValueError):
        seem_predicts([0, 10], [0.0, 1.0], step=10, diverged_at=None, zero_tolerance=-1.0)


def test_rightmost_eigenvector() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, -2.0]], dtype=torch.float64)
    assert np.allclose(np.abs(rightmost_eigenvector(a)), [1.0, 0.0])


def test_toy_trace_records_eigenvector_cosines() -> None:
    trace = run_toy(gamma=0.99, width=16, steps=30, seem_every=10)
    c = trace.seem_arrays()["seem_vector_cosine"]
    assert len(c) == len(trace.seem_steps) == 4
    assert math.isnan(c[0]) and np.all((c[1:] >= 0) & (c[1:] <= 1 + 1e-9))
    assert len(trace.truncated(20).seem_vector_cosine) == 3
