"""Hand-written seed stacks against the plain per-seed modules they replace."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from seemrepro.core.critics import CriticConfig, MLPCritic, build_critic
from seemrepro.rl import stacked
from seemrepro.rl.networks import DeterministicActor, TanhGaussianActor, Temperature
from seemrepro.rl.stacked import (
    StackedCritic,
    StackedDeterministicActor,
    StackedModule,
    StackedTanhGaussianActor,
    StackedTemperature,
    stack_members,
)

N = 3
ARCHITECTURES = {
    "plain": CriticConfig(hidden=(16, 8)),
    "layernorm": CriticConfig(hidden=(16, 8), norm="layernorm"),
    "ln-plain-nobias": CriticConfig(hidden=(16, 8), norm="layernorm", norm_affine=False,
                                    input_layernorm=True, bias=False),
    "partial-ln": CriticConfig(hidden=(16, 8, 8), norm="layernorm", norm_layers=(1,)),
    "linear": CriticConfig(hidden=()),
}


def critics(config: CriticConfig, dim: int = 5) -> list[MLPCritic]:
    members = [build_critic(dim, config, seed=s) for s in range(N)]
    with torch.no_grad():  # non-trivial LayerNorm parameters
        for i, m in enumerate(members):
            for name, p in m.named_parameters():
                if "weight" in name and p.dim() == 1:
                    p.add_(0.1 * (i + 1))
    return members


def assert_same_gradients(stack: nn.Module, members: list[nn.Module],
                          loss: Callable[[Callable[..., torch.Tensor], int | None], torch.Tensor]
                          ) -> None:
    """``loss(f, i)`` with ``f`` a member (``i``) or the stack (``None``, summed over seeds)."""
    loss(stack, None).backward()
    stacked = dict(stack.named_parameters())
    for i, m in enumerate(members):
        loss(m, i).backward()
        for name, p in m.named_parameters():
            grad = stacked[name].grad
            assert grad is not None
            torch.testing.assert_close(grad[i], p.grad, atol=1e-6, rtol=1e-5)


@pytest.fixture(params=["batched", "seed-loop"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test through the batched GEMMs and through the seed-by-seed loop."""
    if request.param == "seed-loop":
        monkeypatch.setattr(stacked, "SEED_LOOP_ROWS", 1)
    return str(request.param)


@pytest.mark.parametrize("config", ARCHITECTURES.values(), ids=ARCHITECTURES.keys())
def test_stacked_critic_matches_members_in_values_and_gradients(config: CriticConfig,
                                                                path: str) -> None:
    members = critics(config)
    stack = stack_members(members)
    assert isinstance(stack, StackedCritic)
    assert {k: v.shape[1:] for k, v in stack.state_dict().items()} \
        == {k: v.shape for k, v in members[0].state_dict().items()}
    x = torch.randn(N, 4, 7, 5, generator=torch.Generator().manual_seed(0))
    out = stack(x)
    assert out.shape == (N, 4, 7)
    for i, m in enumerate(members):
        torch.testing.assert_close(out[i], m(x[i]), atol=1e-6, rtol=1e-5)

    def loss(f: Callable[..., torch.Tensor], i: int | None) -> torch.Tensor:
        y = f(x) if i is None else f(x[i])[None]
        return (y**2).mean(dim=(-2, -1)).sum()

    assert_same_gradients(stack, members, loss)  # type: ignore[arg-type]


def test_member_is_an_independent_plain_critic_with_current_parameters() -> None:
    members = critics(ARCHITECTURES["layernorm"])
    stack = stack_members(members)
    with torch.no_grad():
        for p in stack.parameters():
            p.mul_(1.5)
    x = torch.randn(N, 6, 5)
    snapshot = [p.clone() for p in stack.parameters()]
    for i in range(N):
        member = stack.member(i)
        assert type(member) is MLPCritic
        assert [n for n, _ in member.named_parameters()] \
            == [n for n, _ in members[i].named_parameters()]
        torch.testing.assert_close(member(x[i]), stack(x)[i], atol=1e-6, rtol=1e-5)
        with torch.no_grad():
            next(member.parameters()).zero_()
    assert all(torch.equal(p, q) for p, q in zip(stack.parameters(), snapshot, strict=True))


def test_deterministic_actor_stack_uses_each_seeds_normalization(path: str) -> None:
    members = []
    for s in range(N):
        torch.manual_seed(s)
        actor = DeterministicActor(5, 2, (16, 16), max_action=2.0)
        actor.set_normalization(torch.randn(5), torch.rand(5) + 0.5)
        members.append(actor)
    stack = stack_members(members)
    assert isinstance(stack, StackedDeterministicActor)
    states = torch.randn(N, 9, 5)
    out = stack(states)
    for i, m in enumerate(members):
        torch.testing.assert_close(out[i], m(states[i]), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(stack.member(i).state_mean, m.state_mean)
    assert_same_gradients(stack, members, lambda f, i: (  # type: ignore[arg-type]
        f(states) if i is None else f(states[i])).pow(2).sum())


@pytest.mark.parametrize("samples", [None, 4])
def test_tanh_gaussian_stack_matches_members_with_the_same_noise(samples: int | None,
                                                                 path: str) -> None:
    members = []
    for s in range(N):
        torch.manual_seed(s)
        members.append(TanhGaussianActor(5, 2, (16, 16)))
    stack = stack_members(members)
    assert isinstance(stack, StackedTanhGaussianActor)
    states = torch.randn(N, 7, 5)
    noise = torch.randn(N, *(() if samples is None else (samples,)), 7, 2)
    actions, log_prob = stack(states, noise)
    for i, m in enumerate(members):
        a, lp = m(states[i], noise[i])
        torch.testing.assert_close(actions[i], a, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(log_prob[i], lp, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(stack(states)[i], m(states[i]), atol=1e-6, rtol=1e-5)

    def loss(f: Callable[..., tuple[torch.Tensor, torch.Tensor]], i: int | None) -> torch.Tensor:
        a, lp = f(states, noise) if i is None else f(states[i], noise[i])
        return a.sum() + lp.sum()

    assert_same_gradients(stack, members, loss)  # type: ignore[arg-type]


def test_temperature_stack() -> None:
    members = [Temperature(t) for t in (0.5, 1.0, 2.0)]
    stack = stack_members(members)
    assert isinstance(stack, StackedTemperature)
    like = torch.zeros(N, 4)
    torch.testing.assert_close(stack(like)[:, 0], torch.tensor([0.5, 1.0, 2.0]).log())
    member = stack.member(2)
    assert isinstance(member, Temperature)
    assert float(member.log_alpha.detach().exp()) == pytest.approx(2.0)


def test_other_architectures_fall_back_to_vmap_and_batchnorm_is_refused() -> None:
    weight_norm = stack_members(critics(CriticConfig(hidden=(8,), weight_norm="output")))
    assert isinstance(weight_norm, StackedModule)
    assert type(weight_norm.member(1)) is MLPCritic
    with pytest.raises(ValueError, match="BatchNorm"):
        stack_members(critics(CriticConfig(hidden=(8,), norm="batchnorm")))


def test_stack_loads_state_saved_by_the_vmap_stack() -> None:
    members = critics(ARCHITECTURES["layernorm"])
    old = StackedModule(members)
    new = stack_members([build_critic(5, ARCHITECTURES["layernorm"], seed=9)] * N)
    new.load_state_dict(old.state_dict())
    x = torch.randn(N, 3, 5)
    torch.testing.assert_close(new(x), old(x), atol=1e-6, rtol=1e-5)
    actors = [DeterministicActor(5, 2, (8,)) for _ in range(N)]
    actors[1].set_normalization(torch.ones(5), torch.full((5,), 2.0))
    fresh = stack_members([DeterministicActor(5, 2, (8,)) for _ in range(N)])
    fresh.load_state_dict(StackedModule(actors).state_dict())
    torch.testing.assert_close(fresh.member(1).state_std, torch.full((5,), 2.0))
