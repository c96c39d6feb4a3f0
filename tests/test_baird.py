import torch

from seemrepro.core.baird import INITIAL_WEIGHTS, baird_critic, baird_features, semi_gradient_td


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
