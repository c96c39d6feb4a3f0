import numpy as np
import pytest
import torch

from seemrepro.core.checks import (
    Grid2D,
    homogeneity_table,
    kernel_along_ray,
    loglog_slope,
    normalized_ntk_map,
    one_step_prediction,
)
from seemrepro.core.critics import make_critic
from seemrepro.core.toy import greedy_next_inputs, make_toy_dataset


def test_loglog_slope_recovers_power_and_rejects_bad_input() -> None:
    x = np.logspace(0, 3, 10)
    assert loglog_slope(x, 3 * x**2.5) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        loglog_slope([1.0], [2.0])
    with pytest.raises(ValueError):
        loglog_slope([1.0, 2.0], [0.0, 1.0])


def test_one_step_prediction_error_is_second_order() -> None:
    data = make_toy_dataset(30, seed=1, dtype=torch.float64)
    critic = make_critic(4, (16, 16), seed=1, dtype=torch.float64)
    x_next = greedy_next_inputs(critic, data)
    rates = np.logspace(-8, -6, 5)
    table = one_step_prediction(critic, data.x, x_next, data.rewards, 0.99, rates)
    assert loglog_slope(table.learning_rate, table.actual_change) == pytest.approx(1.0, abs=0.02)
    assert loglog_slope(table.learning_rate, table.prediction_error) == pytest.approx(2.0, abs=0.1)
    assert (table.relative_error < 1e-3).all()
    with pytest.raises(ValueError, match="positive"):
        one_step_prediction(critic, data.x, x_next, data.rewards, 0.99, [0.0])


def test_homogeneity_holds_for_bias_free_relu_net_and_fails_with_large_biases() -> None:
    critic = make_critic(3, (8, 8), seed=0, dtype=torch.float64, bias=False)
    x = torch.randn(5, 3, dtype=torch.float64)
    table = homogeneity_table(critic, x, depth=3, factors=(2.0,))
    assert table.output_ratio[0] == pytest.approx(8.0)
    assert table.grad_ratio[0] == pytest.approx(4.0)
    assert table.ntk_ratio[0] == pytest.approx(16.0)
    assert table.ntk_cosine[0] == pytest.approx(1.0)
    biased = make_critic(3, (8, 8), seed=0, dtype=torch.float64)
    with torch.no_grad():
        for layer in (biased.net[0], biased.net[2], biased.net[4]):
            layer.bias.fill_(3.0)
    assert homogeneity_table(biased, x, 3, (2.0,)).output_worst_dev[0] > 0.05


def test_ntk_map_is_one_at_reference_and_grid_helpers() -> None:
    grid = Grid2D.square(2.0, 5)
    assert grid.points().shape == (25, 2)
    assert grid.index_of((2.0, -2.0)) == (0, 4)
    critic = make_critic(2, (32,), seed=0, dtype=torch.float64)
    x0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    values = grid.reshape(normalized_ntk_map(critic, x0, grid.points()))
    assert values[grid.index_of((1.0, 0.0))] == pytest.approx(1.0)


def test_kernel_along_ray_grows_linearly_without_layernorm_only() -> None:
    x0 = torch.tensor([0.3, -0.2], dtype=torch.float64)
    factors = np.logspace(2, 4, 5)
    plain = kernel_along_ray(make_critic(2, (64,), seed=0, dtype=torch.float64), x0, factors)
    ln = kernel_along_ray(make_critic(2, (64,), seed=0, dtype=torch.float64, norm="layernorm"),
                          x0, factors)
    assert loglog_slope(factors, np.abs(plain)) == pytest.approx(1.0, abs=0.05)
    assert abs(loglog_slope(factors, np.abs(ln))) < 0.05
