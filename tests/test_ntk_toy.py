"""The Fig. 5 toy critics: initializations and the kernel ratio."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seemrepro.core.checks import normalized_ntk_map
from seemrepro.core.critics import make_critic
from seemrepro.core.ntk import gram
from seemrepro.core.ntk_toy import kernel_ratio, lecun_normal_zero_bias_, toy_critic

X0 = torch.tensor([0.1, 0.2], dtype=torch.float64)
FAR = torch.tensor([4.0, 4.0], dtype=torch.float64)


def _linears(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def test_pytorch_initialization_is_the_default_critic() -> None:
    ours = toy_critic(16, seed=3)
    reference = make_critic(2, (16,), seed=3, dtype=torch.float64)
    for a, b in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


def test_flax_initialization_zero_biases_and_lecun_scale() -> None:
    critic = toy_critic(4000, seed=0, initialization="flax")
    first, last = _linears(critic)
    assert all(float(layer.bias.detach().abs().max()) == 0.0 for layer in (first, last))
    # LeCun normal: variance 1/fan-in, truncated at two (pre-correction) standard deviations
    assert float(first.weight.detach().var()) == pytest.approx(1 / 2, rel=0.05)
    assert float(last.weight.detach().var()) == pytest.approx(1 / 4000, rel=0.05)
    bound = 2 * (1 / 4000) ** 0.5 / 0.87962566103423978
    assert float(last.weight.detach().abs().max()) <= bound


def test_flax_initialization_is_seeded() -> None:
    a, b = (toy_critic(8, seed=1, initialization="flax") for _ in range(2))
    assert torch.equal(_linears(a)[0].weight, _linears(b)[0].weight)
    other = toy_critic(8, seed=2, initialization="flax")
    assert not torch.equal(_linears(a)[0].weight, _linears(other)[0].weight)


def test_kernel_ratio_matches_the_normalized_map() -> None:
    critic = toy_critic(64, seed=0)
    expected = normalized_ntk_map(critic, X0, FAR.reshape(1, -1))[0]
    assert kernel_ratio(critic, X0, FAR) == pytest.approx(float(expected))
    assert kernel_ratio(critic, X0, X0) == pytest.approx(1.0)


def test_without_output_bias_drops_that_parameter() -> None:
    critic = toy_critic(64, seed=0)
    without = make_critic(2, (64,), seed=0, dtype=torch.float64)
    _linears(without)[-1].bias.requires_grad_(False)  # a frozen parameter has no share in the kernel
    inputs = torch.stack([X0, FAR])
    row = gram(without, inputs[:1], inputs, method="jacobian", dtype=torch.float64)[0]
    assert kernel_ratio(critic, X0, FAR, output_bias=False) == pytest.approx(float(row[1] / row[0]))


def test_unknown_initialization_raises() -> None:
    with pytest.raises(ValueError, match="unknown initialization"):
        toy_critic(8, seed=0, initialization="xavier")  # type: ignore[arg-type]


def test_lecun_reinit_touches_only_linear_layers() -> None:
    critic = make_critic(2, (8,), seed=0, dtype=torch.float64, norm="layernorm")
    (norm,) = [m for m in critic.modules() if isinstance(m, nn.LayerNorm)]
    norm_weight = norm.weight.detach().clone()
    lecun_normal_zero_bias_(critic, torch.Generator().manual_seed(0))
    assert torch.equal(norm.weight.detach(), norm_weight)
