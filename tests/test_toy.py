import math

import pytest
import torch

from seemrepro.core.critics import make_critic
from seemrepro.core.toy import make_toy_dataset, q_value_iteration, run_toy


def test_bias_free_sgd_run_diverges_and_stops_cleanly() -> None:
    trace = run_toy(width=200, seed=0, lr=0.01, gamma=0.99, steps=400)
    assert trace.diverged and trace.diverged_at is not None
    assert 150 < trace.diverged_at < 400
    assert trace.steps[-1] == trace.diverged_at
    assert not math.isfinite(trace.max_abs_q[-1]) or trace.max_abs_q[-1] > 1e6
    assert all(q <= 1e6 for q in trace.max_abs_q[:-1])


def test_seem_recording_every_k_steps_until_limit() -> None:
    trace = run_toy(width=16, seed=0, lr=0.01, gamma=0.9, steps=30, seem_every=10, seem_until=20)
    assert trace.seem_steps == [0, 10, 20]
    assert len(trace.seem) == len(trace.seem_normalized) == 3


def test_sum_loss_is_mean_loss_with_scaled_lr() -> None:
    data = make_toy_dataset(20, seed=1, dtype=torch.float64)
    a = q_value_iteration(make_critic(4, (8,), seed=1, dtype=torch.float64), data, lr=0.02,
                          steps=5, loss="sum")
    b = q_value_iteration(make_critic(4, (8,), seed=1, dtype=torch.float64), data, lr=0.4,
                          steps=5, loss="mean")
    assert a.mean_q == pytest.approx(b.mean_q, rel=1e-9)


def test_truncated_trace_keeps_only_earlier_steps() -> None:
    trace = run_toy(width=16, seed=0, steps=20, seem_every=5)
    cut = trace.truncated(12)
    assert cut.steps[-1] == 12 and cut.seem_steps == [0, 5, 10]
    with pytest.raises(ValueError):
        trace.truncated(99)


def test_bad_options_raise() -> None:
    data = make_toy_dataset(10)
    critic = make_critic(4, (4,))
    with pytest.raises(ValueError):
        q_value_iteration(critic, data, loss="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        q_value_iteration(critic, data, seem_every=0)
    with pytest.raises(ValueError):
        run_toy(depth=0)


def test_balanced_initialization_keeps_the_function_and_balances_each_unit() -> None:
    from itertools import pairwise

    from seemrepro.core.toy import balance_neurons

    for hidden in ((16,), (16, 8)):
        critic = make_critic(4, hidden, seed=3, bias=False, dtype=torch.float64)
        x = torch.randn(10, 4, dtype=torch.float64)
        before = critic(x).detach().clone()
        balance_neurons(critic)
        assert torch.allclose(critic(x), before, rtol=1e-10, atol=1e-12)
        layers = [m for m in critic.modules() if isinstance(m, torch.nn.Linear)]
        for inner, outer in pairwise(layers):
            assert torch.allclose(inner.weight.norm(dim=1), outer.weight.norm(dim=0), rtol=1e-6)
    with pytest.raises(ValueError, match="bias-free"):
        balance_neurons(make_critic(4, (8,), seed=0, bias=True))


def test_run_toy_balanced_is_opt_in() -> None:
    plain = run_toy(width=16, seed=0, steps=3)
    again = run_toy(width=16, seed=0, steps=3, balanced=False)
    balanced = run_toy(width=16, seed=0, steps=3, balanced=True)
    assert plain.mean_q == again.mean_q
    assert balanced.mean_q[0] == pytest.approx(plain.mean_q[0], rel=1e-5)  # same function
    assert balanced.param_norm[0] != pytest.approx(plain.param_norm[0], rel=1e-3)


def test_layer_imbalance_is_one_after_balancing_a_single_hidden_layer() -> None:
    from seemrepro.core.critics import make_critic
    from seemrepro.core.toy import balance_neurons, layer_imbalance

    critic = make_critic(4, (200,), seed=0, bias=False)
    assert layer_imbalance(critic) > 10  # PyTorch's default init: a small output layer
    balance_neurons(critic)
    assert layer_imbalance(critic) == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(ValueError, match="two Linear"):
        layer_imbalance(torch.nn.Linear(3, 1))
