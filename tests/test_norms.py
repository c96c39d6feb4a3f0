"""The normalization registry: the built-in variants, and a new one added as a single entry."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seemrepro.core.critics import CriticConfig, build_critic, make_critic
from seemrepro.core.norms import (
    NORMALIZATIONS,
    Normalization,
    StackedNorm,
    get_normalization,
    normalization_of,
    register_normalization,
    unregister_normalization,
)
from seemrepro.core.ntk import gram, supports_structured
from seemrepro.rl import stacked
from seemrepro.rl.stacked import StackedCritic, StackedModule, stack_members

NEW = "groupnorm1"


class StackedGroupNorm1(StackedNorm):
    """N one-group GroupNorms on ``(N, M, d)``."""

    def __init__(self, layers: Sequence[nn.GroupNorm]) -> None:
        super().__init__()
        self.eps = layers[0].eps
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.group_norm(x.reshape(-1, x.shape[-1]), 1, eps=self.eps).reshape(x.shape)
        return y * self.weight.unsqueeze(1) + self.bias.unsqueeze(1)

    def seed_forward(self, x: torch.Tensor, index: int) -> torch.Tensor:
        return F.group_norm(x, 1, self.weight[index], self.bias[index], self.eps)


def _group_norm_input(module: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor:
    return F.group_norm(x, module.num_groups, eps=module.eps)


def _stack_group_norm(layers: Sequence[nn.GroupNorm]) -> StackedNorm | None:
    return StackedGroupNorm1(layers) if layers[0].affine else None


@pytest.fixture(params=["stacked", "vmap"])
def new_norm(request: pytest.FixtureRequest) -> Iterator[Normalization[nn.GroupNorm]]:
    """A one-group GroupNorm registered for one test, with or without a stacked form."""
    entry = Normalization(NEW, nn.GroupNorm, lambda width, affine: nn.GroupNorm(1, width, affine),
                          _group_norm_input)
    if request.param == "stacked":
        entry = dataclasses.replace(entry, stack=_stack_group_norm)
    register_normalization(entry)
    try:
        yield entry
    finally:
        unregister_normalization(NEW)


def test_registry_lists_the_builtin_variants() -> None:
    assert {"layernorm", "batchnorm"} <= set(NORMALIZATIONS)
    assert normalization_of(nn.LayerNorm(4)) is NORMALIZATIONS["layernorm"]
    assert normalization_of(nn.BatchNorm1d(4)) is NORMALIZATIONS["batchnorm"]
    assert normalization_of(nn.ReLU()) is None


def test_unknown_names_are_rejected_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="layernorm, batchnorm"):
        get_normalization("rmsnorm")
    with pytest.raises(ValueError, match="choose none or one of layernorm, batchnorm"):
        CriticConfig(norm="rmsnorm")


def test_names_cannot_be_registered_twice_or_as_none() -> None:
    layernorm = NORMALIZATIONS["layernorm"]
    with pytest.raises(ValueError, match="already registered"):
        register_normalization(layernorm)
    with pytest.raises(ValueError, match="none"):
        register_normalization(Normalization("none", nn.LayerNorm, layernorm.build,
                                             layernorm.normalized_input))
    assert register_normalization(layernorm, replace=True) is layernorm


def test_seeded_layernorm_critic_is_the_hand_built_network() -> None:
    torch.manual_seed(0)
    expected = nn.Sequential(nn.Linear(14, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 1))
    state = make_critic(14, (8,), norm="layernorm", seed=0).net.state_dict()
    assert list(state) == list(expected.state_dict())
    for key, value in expected.state_dict().items():
        assert torch.equal(state[key], value), key


def test_a_new_variant_is_one_entry(new_norm: Normalization[nn.GroupNorm]) -> None:
    critic = make_critic(5, (12, 9), norm=NEW, seed=1, dtype=torch.float64)
    assert [type(m).__name__ for m in critic.net].count("GroupNorm") == 2
    with torch.no_grad():  # non-trivial gains and biases
        for name, p in critic.named_parameters():
            if p.dim() == 1:
                p.add_(torch.linspace(-0.5, 0.5, p.numel(), dtype=p.dtype))

    assert supports_structured(critic)
    x1 = torch.randn(11, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x2 = torch.randn(7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    reference = gram(critic, x1, x2, method="jacobian")
    torch.testing.assert_close(gram(critic, x1, x2, method="structured"), reference,
                               rtol=1e-5, atol=1e-5 * float(reference.abs().max()))


def test_a_new_variant_stacks_or_falls_back(new_norm: Normalization[nn.GroupNorm],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    members = [build_critic(5, CriticConfig(hidden=(16, 8), norm=NEW), seed=s) for s in range(3)]
    stack = stack_members(members)
    has_stacked_form = new_norm.stack is _stack_group_norm
    assert isinstance(stack, StackedCritic if has_stacked_form else StackedModule)
    # (M, d) rows per seed: GroupNorm reads dimension 1 as channels
    x = torch.randn(3, 28, 5, generator=torch.Generator().manual_seed(0))
    for seed_loop_rows in (stacked.SEED_LOOP_ROWS, 1):
        monkeypatch.setattr(stacked, "SEED_LOOP_ROWS", seed_loop_rows)
        out = stack(x)
        for i, m in enumerate(members):
            torch.testing.assert_close(out[i], m(x[i]), atol=1e-6, rtol=1e-5)
    assert set(stack.member(1).state_dict()) == set(members[1].state_dict())


def test_unregistered_variant_is_gone() -> None:
    assert NEW not in NORMALIZATIONS
    with pytest.raises(ValueError, match="unknown norm"):
        make_critic(5, (4,), norm=NEW)
