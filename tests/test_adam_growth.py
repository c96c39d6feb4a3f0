import numpy as np
import pytest
import torch

from seemrepro.core.predict import adam_lag_slope_ratio, full_speed_coordinates


def _adam_mean_step(power: int, betas: tuple[float, float], start: int, end: int) -> float:
    """Mean step / lr of torch's Adam on one coordinate whose gradient grows like t^power."""
    lr = 1e-3
    theta = torch.zeros(1, dtype=torch.float64)
    opt = torch.optim.Adam([theta], lr=lr, betas=betas)
    at_start = 0.0
    for t in range(1, end + 1):
        if t == start:
            at_start = float(theta)
        theta.grad = torch.tensor([-(t / 1000.0) ** power], dtype=torch.float64)
        opt.step()
    return (float(theta) - at_start) / lr / (end - start)


@pytest.mark.parametrize("depth", [2, 3])
def test_lag_estimate_matches_adam_on_a_growing_gradient(depth: int) -> None:
    betas, start, end = (0.9, 0.999), 4000, 8000
    measured = _adam_mean_step(2 * depth - 1, betas, start, end)
    estimate = adam_lag_slope_ratio(depth, betas, start, end)
    assert estimate > 1.2  # the lag is large here, so the comparison means something
    assert measured == pytest.approx(estimate, rel=2e-3)


def test_lag_vanishes_without_averaging_and_for_long_runs() -> None:
    assert adam_lag_slope_ratio(3, (0.0, 0.0), 10, 20) == pytest.approx(1.0)
    assert adam_lag_slope_ratio(2, (0.9, 0.999), 1e7, 2e7) == pytest.approx(1.0, abs=1e-3)
    assert adam_lag_slope_ratio(3, (0.9, 0.999), 10_000, 20_000) > \
        adam_lag_slope_ratio(2, (0.9, 0.999), 10_000, 20_000) > 1.0


def test_lag_rejects_bad_windows() -> None:
    with pytest.raises(ValueError):
        adam_lag_slope_ratio(2, (0.9, 0.999), 2000, 1000)
    with pytest.raises(ValueError):
        adam_lag_slope_ratio(2, (0.9, 1.0), 1000, 2000)


def test_full_speed_coordinates_counts_only_those_near_eta_per_step() -> None:
    initial = np.zeros(5)
    final = np.array([10.0, -9.0, 0.0, 0.05, 4.0])  # lr·steps = 10
    assert full_speed_coordinates(initial, final, lr=1e-3, steps=10_000) == 2
    assert full_speed_coordinates(initial, final, lr=1e-3, steps=10_000, fraction=0.4) == 3
    with pytest.raises(ValueError):
        full_speed_coordinates(initial, final[:3], lr=1e-3, steps=10_000)


def test_slope_ratio_by_window_end_fits_each_second_half() -> None:
    import math

    import numpy as np

    from seemrepro.core.predict import slope_ratio_by_window_end

    t = np.arange(0, 10_001, 100, dtype=float)
    lr, num_params = 1e-3, 400
    # a norm whose slope is 2·η√P up to step 4,000 and exactly η√P afterwards
    slope = lr * math.sqrt(num_params)
    norm = 1.0 + np.where(t <= 4000, 2 * slope * t, 2 * slope * 4000 + slope * (t - 4000))
    q = (t + 1.0) ** 3
    ratios = slope_ratio_by_window_end(t, norm, q, ends=[4000, 10_000], lr=lr,
                                       num_params=num_params, depth=3)
    assert ratios[0] == pytest.approx(2.0) and ratios[1] == pytest.approx(1.0)
