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
