"""Diffusion-QL: config, diffusion schedule and chain, losses, batched seeds, engine runs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from shared_checks import assert_same_runs

from seemrepro.cli import nest
from seemrepro.core.critics import CriticConfig
from seemrepro.datasets.resolve import synthetic
from seemrepro.engine import MonitorConfig, RunConfig, train
from seemrepro.engine.loop import batch_groups, train_runs
from seemrepro.rl.agents import DiffQL, DiffQLConfig, make_config
from seemrepro.rl.agents.diffql import DiffusionActor, VPSchedule
from seemrepro.rl.buffers import Batch, TransitionBuffer

SMALL = {"critic": {"hidden": [32, 32]}, "actor_hidden": [32, 32]}


def small(**changes: object) -> DiffQLConfig:
    return DiffQLConfig(actor_hidden=(32, 32), critic=CriticConfig(hidden=(32, 32))
                        ).replace(**changes)


def data(n: int = 256, s: int = 5, a: int = 2) -> TransitionBuffer:
    return synthetic(n, s, a, 0)


def stack(batches: list[Batch]) -> Batch:
    return Batch(*[torch.stack([getattr(b, f.name) for b in batches])
                   for f in dataclasses.fields(Batch)])


@pytest.mark.parametrize("options, message", [
    ({"eta": -1.0}, "eta"), ({"bc_weight": -0.5}, "bc_weight"),
    ({"denoise_steps": 0}, "denoise_steps"), ({"time_embed_dim": 15}, "time_embed_dim"),
    ({"q_action": "sample"}, "q_action"), ({"max_q_samples": 0}, "max_q_samples"),
    ({"actor_ema_every": 0}, "actor_ema_every"), ({"actor_ema_start": -1}, "actor_ema_start"),
    ({"grad_norm": -1.0}, "grad_norm"), ({"max_action": 0.0}, "max_action"),
    ({"tau": 0.0}, "tau"), ({"gamma": 1.0}, "gamma"), ({"temperature": 1.0}, "unknown"),
])
def test_config_rejects_bad_values(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_config("diffql", options)


def test_config_defaults_and_round_trip() -> None:
    c = make_config("diffql")
    assert isinstance(c, DiffQLConfig)
    assert (c.denoise_steps, c.eta, c.bc_weight, c.max_q_backup) == (5, 2.0, 1.0, False)
    assert c.actor_hidden == c.critic.hidden == (256, 256, 256)
    assert DiffQLConfig.from_dict(c.to_dict()) == c


def test_critic_norm_layernorm_is_one_field_that_reaches_both_critics() -> None:
    options = nest([("critic.norm", "layernorm")])  # the command line's --set critic.norm=...
    config = make_config("diffql", options)
    assert config.critic == CriticConfig(hidden=(256, 256, 256), norm="layernorm")
    agent = DiffQL(5, 2, make_config("diffql", {"critic": {"norm": "layernorm"},
                                                "actor_hidden": [32, 32]}))
    assert len(agent.critics) == 2
    for critic in agent.critics:
        assert sum(isinstance(m, torch.nn.LayerNorm) for m in critic.modules()) == 3
    resolved = RunConfig("diffql", "synthetic/100", agent=options).resolved()
    assert resolved.agent["critic"]["norm"] == "layernorm"
    assert resolved.agent["critic"]["hidden"] == [256, 256, 256]


def test_vp_schedule_known_properties() -> None:
    for steps in (1, 5, 100):
        s = VPSchedule.build(steps)
        ac = s.alphas_cumprod
        assert s.steps == steps
        assert bool(((ac > 0) & (ac < 1)).all()) and bool((ac[1:] < ac[:-1]).all())
        assert bool(((s.betas > 0) & (s.betas < 1)).all())
        # log ᾱ_T = −β_min − (β_max − β_min)/2 whatever T: exp(−5.05)
        assert math.isclose(float(ac[-1]), math.exp(-0.1 - 9.9 / 2), rel_tol=1e-9)
        assert float(s.posterior_std[0]) == 0.0
        # the last step's posterior mean is the predicted start itself
        assert math.isclose(float(s.posterior_mean_coef1[0]), 1.0, rel_tol=1e-12)
        assert float(s.posterior_mean_coef2[0]) == 0.0
    five = VPSchedule.build(5)
    assert math.isclose(float(five.betas[0]), 1 - math.exp(-0.02 - 4.95 / 25), rel_tol=1e-9)


def test_predicted_start_inverts_the_forward_process() -> None:
    actor = DiffusionActor(3, 2, (16,), max_action=1.0, steps=5)
    a = torch.rand(40, 2) * 1.8 - 0.9
    t = torch.arange(40) % 5
    eps = torch.randn(40, 2)
    torch.testing.assert_close(actor.predicted_start(actor.noised(a, t, eps), t, eps), a,
                               atol=1e-4, rtol=1e-4)


def test_actor_shapes_bounds_and_seeded_sampling() -> None:
    agent = DiffQL(5, 2, small(max_action=0.5), seed=0)
    states = data().states
    actions = agent.act(states[:7])
    assert actions.shape == (7, 2) and float(actions.abs().max()) <= 0.5
    assert agent.actor(states[0]).shape == (2,)  # one raw state, as the evaluator calls it
    assert agent.actor(states[:12].reshape(3, 4, 5)).shape == (3, 4, 2)
    assert torch.equal(agent.act(states[:7]), actions)  # its own seeded noise: deterministic
    other = DiffQL(5, 2, small(max_action=0.5), seed=1)
    assert not torch.equal(other.act(states[:7]), actions)
    batched = DiffQL(5, 2, small(max_action=0.5), seeds=[0, 1])
    out = batched.act(torch.stack([states[:7], states[:7]]))
    assert out.shape == (2, 7, 2) and float(out.abs().max()) <= 0.5
    torch.testing.assert_close(out[0], actions)
    with pytest.raises(ValueError, match="noise slices"):
        agent.actor(states[:3], torch.randn(4, 3, 2))


def test_max_q_backup_takes_each_critics_max_over_samples_then_the_min() -> None:
    agent = DiffQL(5, 2, small(max_q_backup=True, max_q_samples=6), seed=0)
    s = data().next_states[:9]
    state = agent.generator.get_state()
    with torch.no_grad():
        value = agent.next_q(s)
        agent.generator.set_state(state)
        repeated = s.unsqueeze(1).expand(9, 6, 5)
        actions = agent.sample(agent.actor_target, repeated)
        q = [c(torch.cat([repeated, actions], -1)) for c in agent.critics_target]
    assert value.shape == (9,)
    torch.testing.assert_close(value, torch.minimum(q[0].max(1).values, q[1].max(1).values))
    one = DiffQL(5, 2, small(max_q_backup=True, max_q_samples=1), seed=0)
    plain = DiffQL(5, 2, small(), seed=0)
    with torch.no_grad():  # one sample: the same draws, the same target as without the backup
        torch.testing.assert_close(one.next_q(s), plain.next_q(s))


def test_bc_loss_alone_lowers_the_denoising_error_on_one_fixed_action() -> None:
    buffer = data(64, 3, 2)
    target = torch.tensor([0.5, -0.3])
    buffer.actions[:] = target
    agent = DiffQL(3, 2, small(eta=0.0, actor_lr=1e-3), seed=0)

    def denoising_error() -> float:
        g = torch.Generator().manual_seed(5)
        total = 0.0
        with torch.no_grad():
            features = agent.actor.time_features()
            for step in range(agent.config.denoise_steps):
                t = torch.full((len(buffer),), step)
                noise = torch.randn(buffer.actions.shape, generator=g)
                noisy = agent.actor.noised(buffer.actions, t, noise)
                eps = agent.actor.epsilon(buffer.states, noisy,
                                          agent.actor.gather_features(features, t))
                total += float(((eps - noise) ** 2).mean())
        return total / agent.config.denoise_steps

    before = denoising_error()
    miss_before = float((agent.act(buffer.states) - target).norm(dim=-1).mean())
    g = torch.Generator().manual_seed(1)
    for _ in range(150):
        metrics = agent.update(buffer.sample(32, g))
    assert metrics["q_loss"] == 0.0
    assert denoising_error() < 0.3 * before
    assert float((agent.act(buffer.states) - target).norm(dim=-1).mean()) < 0.5 * miss_before


def test_updates_are_deterministic_for_a_seed_and_resume_from_a_state_dict() -> None:
    buffer = data()

    def run(agent: DiffQL, steps: int, seed: int) -> dict[str, float]:
        g = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            metrics = agent.update(buffer.sample(32, g))
        return metrics

    config = small(actor_ema_start=2, actor_ema_every=2, max_q_backup=True, grad_norm=1.0)
    a, b = DiffQL(5, 2, config, seed=3), DiffQL(5, 2, config, seed=3)
    assert run(a, 5, 0) == run(b, 5, 0)
    assert torch.equal(a.act(buffer.states), b.act(buffer.states))
    c = DiffQL(5, 2, config, seed=9)
    c.load_state_dict(a.state_dict())
    run(a, 3, 1)
    run(c, 3, 1)
    assert torch.equal(a.act(buffer.states), c.act(buffer.states))
    x = torch.cat([buffer.states, buffer.actions], 1)
    assert torch.equal(a.critic(x), c.critic(x))


def test_target_policy_follows_only_from_actor_ema_start_every_actor_ema_every() -> None:
    agent = DiffQL(5, 2, small(actor_ema_start=3, actor_ema_every=2), seed=0)
    initial = [p.clone() for p in agent.actor_target.parameters()]
    critic_initial = [p.clone() for p in agent.critics_target.parameters()]
    g = torch.Generator().manual_seed(0)
    buffer = data()
    for _ in range(4):  # updates 0..3: none is due (3 is odd)
        agent.update(buffer.sample(16, g))
    assert all(torch.equal(a, b) for a, b in zip(initial, agent.actor_target.parameters()))
    assert not all(torch.equal(a, b) for a, b in
                   zip(critic_initial, agent.critics_target.parameters()))
    agent.update(buffer.sample(16, g))  # update 4
    assert not all(torch.equal(a, b) for a, b in zip(initial, agent.actor_target.parameters()))
    no_ema = DiffQL(5, 2, small(tau=1.0), seed=0)
    assert no_ema.target_critics() is no_ema.critics


def test_gradient_clipping_is_per_seed() -> None:
    agent = DiffQL(5, 2, small(grad_norm=0.05), seeds=[0, 1])
    for i, p in enumerate(agent.actor.parameters()):
        p.grad = torch.ones_like(p) * (1.0 + i)
        p.grad[1] *= 1e-6  # seed 1: a tiny gradient, left as it is
    before = [p.grad[1].clone() for p in agent.actor.parameters()]  # type: ignore[index]
    agent._clip(agent.actor)
    norms = torch.stack([p.grad.pow(2).reshape(2, -1).sum(1)  # type: ignore[union-attr]
                         for p in agent.actor.parameters()]).sum(0).sqrt()
    assert math.isclose(float(norms[0]), 0.05, rel_tol=1e-4)
    assert all(torch.equal(b, p.grad[1])  # type: ignore[index]
               for b, p in zip(before, agent.actor.parameters()))


@pytest.mark.parametrize("extra", [
    {},
    {"max_q_backup": True, "max_q_samples": 3, "grad_norm": 0.5, "q_action": "predicted_start",
     "actor_ema_start": 4, "critic": {"hidden": [32, 32], "norm": "layernorm"}},
], ids=["default", "backup-clip-edp-ln"])
def test_batched_seeds_train_exactly_as_alone(extra: dict[str, object]) -> None:
    base = RunConfig("diffql", "synthetic/2000", steps=30, batch_size=32,
                     agent={**SMALL, **extra},
                     monitors=MonitorConfig(q_every=10, seem_every=15, seem_samples=32))
    runs = [dataclasses.replace(base, subset=subset, seed=seed,
                                agent={**base.agent, "gamma": gamma, "eta": eta, "bc_weight": bc})
            for subset, seed, gamma, eta, bc in [(1.0, 0, 0.99, 2.0, 1.0), (0.5, 1, 0.9, 1.0, 0.5)]]
    assert [len(g) for g in batch_groups(runs)] == [2]  # one batched model
    grouped = train_runs(runs, progress=False)
    alone = train_runs(runs, batched=False, progress=False)
    assert [g.config for g in grouped] == [a.config.resolved() for a in alone]
    assert_same_runs(grouped, alone)


def test_engine_run_records_q_and_seem() -> None:
    (result,) = train(RunConfig("diffql", "synthetic/2000", steps=50, batch_size=32,
                                agent=SMALL,
                                monitors=MonitorConfig(q_every=10, seem_every=25,
                                                       seem_samples=64)), progress=False)
    metrics = set(result.frame().metric)
    assert {"q_abs_max", "q_policy", "seem", "seem_normalized"} <= metrics
    steps, values = result.series("seem_normalized")
    assert list(steps) == [0, 25, 50] and np.isfinite(values).all()
    assert list(result.series("q_abs_max")[0]) == [0, 10, 20, 30, 40, 50]
