import pytest
import torch
from torch import nn

from seemrepro.core.critics import make_critic
from seemrepro.core.seem import seem, seem_matrix, seem_reference

GAMMA = 0.99


def inputs(seed: int, n: int = 24, d: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    return x, x + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)


def td_trained(critic: nn.Module, x: torch.Tensor, x_next: torch.Tensor, steps: int) -> nn.Module:
    """Bootstrapping from the critic itself with zero reward: pushes SEEM away from zero."""
    opt = torch.optim.Adam(critic.parameters(), lr=3e-3)
    for _ in range(steps):
        with torch.no_grad():
            target = GAMMA * critic(x_next)
        loss = ((critic(x) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return critic


@pytest.mark.parametrize("options", [{}, {"norm": "layernorm"}, {"weight_norm": "output"},
                                     {"norm": "batchnorm"}])
@pytest.mark.parametrize("steps", [0, 300])
def test_seem_matches_brute_force(options: dict, steps: int) -> None:
    x, x_next = inputs(0)
    critic = make_critic(6, (16, 16), seed=3, dtype=torch.float64, **options)
    critic = td_trained(critic, x, x_next, steps)
    fast, reference = seem(critic, x, x_next, GAMMA), seem_reference(critic, x, x_next, GAMMA)
    assert abs(fast.raw - reference.raw) <= 1e-6 * reference.frobenius
    assert abs(fast.normalized - reference.normalized) <= 1e-6
    assert fast.frobenius == pytest.approx(reference.frobenius, rel=1e-9)


def test_normalized_seem_is_scale_free_and_parameter_scaling_matches() -> None:
    x, x_next = inputs(1)
    critic = make_critic(6, (16,), seed=0, dtype=torch.float64)
    plain = seem(critic, x, x_next, GAMMA)
    per_p = seem(critic, x, x_next, GAMMA, normalize_by_parameters=True)
    assert per_p.normalized == pytest.approx(plain.normalized, rel=1e-9)
    p = sum(q.numel() for q in critic.parameters())
    assert per_p.raw * p == pytest.approx(plain.raw, rel=1e-9)
    assert -1.0 <= plain.normalized <= 1.0


def test_seem_of_identical_inputs_is_gamma_minus_one_times_smallest_kernel_eigenvalue() -> None:
    # X* = X gives A = (γ - 1) G, so SEEM = (γ - 1) λ_min(G) < 0: no self-excitation
    x, _ = inputs(2)
    critic = make_critic(6, (16,), seed=0, dtype=torch.float64)
    result = seem(critic, x, x, GAMMA)
    g = -seem_matrix(critic, x, x, 0.0)
    expected = (GAMMA - 1) * float(torch.linalg.eigvalsh(g).min())
    assert result.raw == pytest.approx(expected, abs=1e-9 * float(g.norm()))
    assert result.raw < 0 and not result.diverging


def test_far_targets_give_positive_seem_without_layernorm() -> None:
    # X* far out along the data directions: the ReLU kernel links them strongly to X
    x, _ = inputs(3)
    critic = make_critic(6, (64,), seed=0, dtype=torch.float64)
    assert seem(critic, x, 20 * x, GAMMA).raw > 0
    ln = make_critic(6, (64,), seed=0, dtype=torch.float64, norm="layernorm")
    assert seem(ln, x, 20 * x, GAMMA).normalized < seem(critic, x, 20 * x, GAMMA).normalized


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5])
def test_gamma_outside_unit_interval_is_rejected(gamma: float) -> None:
    x, x_next = inputs(0)
    with pytest.raises(ValueError, match="gamma"):
        seem(make_critic(6, (4,)), x.float(), x_next.float(), gamma)


def test_mismatched_and_empty_batches_are_rejected() -> None:
    critic = make_critic(6, (4,), dtype=torch.float64)
    x, x_next = inputs(0)
    with pytest.raises(ValueError, match="same shape"):
        seem(critic, x, x_next[:-1], GAMMA)
    with pytest.raises(ValueError, match="empty"):
        seem(critic, x[:0], x_next[:0], GAMMA)
    with pytest.raises(ValueError, match="one scalar per sample"):
        seem(nn.Linear(6, 3).double(), x, x_next, GAMMA)


def test_a_two_input_critic_gets_a_clear_error() -> None:
    class TwoInputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(5, 1)

        def forward(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
            return self.net(torch.cat([s, a], dim=-1)).squeeze(-1)

    x = torch.randn(8, 5)
    with pytest.raises(ValueError, match=r"q\(s, a\)"):
        seem(TwoInputs(), x, x, 0.9)
