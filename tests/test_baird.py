import numpy as np
import pytest
import torch

from seemrepro.core.baird import (
    DASHED,
    INITIAL_WEIGHTS,
    SOLID,
    BairdTrace,
    baird_critic,
    baird_features,
    behaviour_policy_td,
    behaviour_trajectory,
    importance_ratio,
    semi_gradient_td,
    step_gain,
    td_step,
)


def test_features_match_sutton_barto() -> None:
    phi = baird_features()
    w = torch.tensor(INITIAL_WEIGHTS, dtype=torch.float64)
    values = phi @ w
    assert torch.allclose(values[:6], torch.full((6,), 3.0, dtype=torch.float64))  # 2·1 + 1
    assert float(values[6]) == 12.0  # 10 + 2·1
    assert torch.linalg.matrix_rank(phi) == 7


def test_linear_critic_starts_at_w0() -> None:
    critic = baird_critic(layernorm=False)
    assert torch.allclose(critic(baird_features()), baird_features() @ torch.tensor(INITIAL_WEIGHTS,
                                                                                    dtype=torch.float64))


def test_linear_diverges_layernorm_converges() -> None:
    linear = semi_gradient_td(baird_critic(layernorm=False), steps=1500, record_every=500)
    normed = semi_gradient_td(baird_critic(layernorm=True), steps=1500, record_every=500)
    assert linear.param_norm[-1] > 50 * linear.param_norm[0]
    assert normed.param_norm[-1] < 1.1 * normed.param_norm[0]
    assert normed.max_abs_value[-1] < 0.1


def test_importance_ratios_are_seven_and_zero() -> None:
    assert importance_ratio(SOLID) == pytest.approx(7.0)
    assert importance_ratio(DASHED) == 0.0
    with pytest.raises(ValueError):
        importance_ratio(2)


def test_behaviour_trajectory_follows_the_behaviour_policy() -> None:
    path = behaviour_trajectory(7000, seed=3)
    solid = path.actions == SOLID
    assert np.all(path.next_states[solid] == 6)
    assert np.all(path.next_states[~solid] < 6)
    assert np.array_equal(path.states[1:], path.next_states[:-1])  # one connected trajectory
    assert abs(solid.mean() - 1 / 7) < 0.02  # binomial sd ≈ 0.004
    assert np.allclose(path.ratios, np.where(solid, 7.0, 0.0))
    visits = np.bincount(path.states, minlength=7) / len(path.states)
    assert np.all(np.abs(visits - 1 / 7) < 0.02)  # the behaviour visits the states uniformly


def test_td_step_matches_a_hand_computed_update() -> None:
    critic = baird_critic(layernorm=False)
    opt = torch.optim.SGD(critic.parameters(), lr=0.01)
    # from upper state 0 by the solid action: v(0) = 3, v(lower) = 12, δ = 0.99·12 − 3 = 8.88
    td_step(critic, opt, baird_features(), 0, 6, weight=7.0, gamma=0.99)
    expected = torch.tensor(INITIAL_WEIGHTS, dtype=torch.float64)
    expected[0] += 0.01 * 7.0 * 8.88 * 2.0
    expected[7] += 0.01 * 7.0 * 8.88 * 1.0
    weight = torch.nn.utils.parameters_to_vector(critic.parameters()).detach()  # no bias
    assert torch.allclose(weight, expected, rtol=0, atol=1e-12)


def test_dashed_steps_leave_the_weights_unchanged() -> None:
    critic = baird_critic(layernorm=False)
    trace = behaviour_policy_td(critic, steps=0, record_every=1)
    assert trace.param_norm == [pytest.approx(float(np.linalg.norm(INITIAL_WEIGHTS)))]
    path = behaviour_trajectory(50, seed=0)
    dashed_only = int(np.argmax(path.actions == SOLID))  # steps before the first solid action
    assert dashed_only > 0
    before = behaviour_policy_td(baird_critic(layernorm=False), steps=dashed_only, seed=0,
                                 record_every=1)
    assert before.param_norm[-1] == before.param_norm[0]


def test_sampled_linear_diverges_and_layernorm_converges_at_a_stable_step() -> None:
    for seed in (0, 1):
        linear = behaviour_policy_td(baird_critic(layernorm=False), steps=1500, seed=seed,
                                     record_every=500)
        assert linear.param_norm[-1] > 50 * linear.param_norm[0]
        # α/7: each importance-weighted step is then the expected-update version's step
        normed = behaviour_policy_td(baird_critic(layernorm=True), lr=0.01 / 7, steps=7 * 1500,
                                     seed=seed, record_every=1500)
        assert normed.max_abs_value[-1] < 0.1


def test_step_gain_of_the_linear_model() -> None:
    # ‖φ(s)‖² = 5 in every state, so one step at α = 0.01 and ρ = 7 has gain 0.35
    assert step_gain(baird_critic(layernorm=False), lr=0.01, weight=7.0) == pytest.approx(0.35)
    assert step_gain(baird_critic(layernorm=True), lr=0.01, weight=7.0) > 2.0


def test_trace_verdict_helpers() -> None:
    growing = BairdTrace([0, 1, 2], [1.0, 20.0, 1000.0], [1.0, 1.0, 1.0])
    assert growing.blew_up(factor=100, late_factor=10)
    assert not growing.blew_up(factor=2000, late_factor=10)
    assert not growing.settled(tolerance=0.01, value_max=1e-2)
    flat = BairdTrace([0, 1, 2], [10.0, 5.0, 5.01], [1.0, 1e-3, 1e-3])
    assert flat.settled(tolerance=0.01, value_max=1e-2)
    assert not flat.settled(tolerance=0.01, value_max=1e-4)
    overflowed = BairdTrace([0, 1, 2], [10.0, float("nan"), float("nan")], [1.0, 1.0, 1.0])
    assert not overflowed.settled(tolerance=0.01, value_max=1e-2)
    assert not overflowed.blew_up(factor=100, late_factor=10)
