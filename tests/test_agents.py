"""Every agent for a few CPU updates; batched seeds against separate runs; config round trips."""

from __future__ import annotations

import pytest
import torch

from seemrepro.core.critics import CriticConfig, MLPCritic
from seemrepro.datasets.resolve import synthetic
from seemrepro.rl import stacked
from seemrepro.rl.agents import ALGORITHMS, Agent, agent_class, make_config
from seemrepro.rl.buffers import Batch, TransitionBuffer


def random_buffer(n: int = 256, s: int = 5, a: int = 2, seed: int = 0) -> TransitionBuffer:
    return synthetic(n, s, a, seed)


CRITICS = [CriticConfig(hidden=(32, 32)), CriticConfig(hidden=(32, 32), norm="layernorm"),
           CriticConfig(hidden=(32, 32), norm="batchnorm"),
           CriticConfig(hidden=(32, 32), weight_norm="output", dropout=0.1)]


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("critic", CRITICS, ids=["plain", "ln", "bn", "wn-dropout"])
def test_agent_updates_change_critic_and_round_trip(algorithm: str, critic: CriticConfig) -> None:
    data = random_buffer()
    config = make_config(algorithm, {"critic": critic.to_dict(), "actor_hidden": [32, 32],
                                     "critic_weight_decay": 1e-4, "tau": 1.0})
    agent = agent_class(algorithm)(5, 2, config, seed=0)
    before = [p.clone() for p in agent.critic.parameters()]
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        metrics = agent.update(data.sample(32, g))
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.critic.parameters()))
    assert agent.act(data.states[:4]).abs().max() <= config.max_action
    clone = agent_class(algorithm)(5, 2, config, seed=7)
    clone.load_state_dict(agent.state_dict())
    batch = data.sample(32, torch.Generator().manual_seed(2))
    for a in (agent, clone):  # dropout masks come from the global generator
        torch.manual_seed(0)
        a.update(batch)
    assert torch.equal(agent.act(data.states), clone.act(data.states))
    assert type(config).from_dict(config.to_dict()) == config


def stack(batches: list[Batch]) -> Batch:
    return Batch(*[torch.stack([getattr(b, f) for b in batches])
                   for f in ("states", "actions", "rewards", "next_states", "dones")])


BATCHED_CRITICS: dict[str, dict[str, object]] = {
    "ln": {"hidden": [32, 32], "norm": "layernorm"},  # hand-written stacks
    "plain": {"hidden": [32, 32]},
    "wn": {"hidden": [32, 32], "weight_norm": "output"},  # the vmap fallback
}


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("critic", BATCHED_CRITICS.values(), ids=BATCHED_CRITICS.keys())
def test_batched_seeds_match_separate_runs(algorithm: str, critic: dict[str, object]) -> None:
    data, seeds = random_buffer(), [3, 4, 5]
    config = make_config(algorithm, {"critic": critic, "actor_hidden": [32, 32]})
    cls: type[Agent] = agent_class(algorithm)
    batched = cls(5, 2, config, seeds=seeds)
    alone = [cls(5, 2, config, seed=s) for s in seeds]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    for _ in range(6):
        batches = [data.sample(32, g) for g in gens]
        batched.update(stack(batches))
        for agent, batch in zip(alone, batches):
            agent.update(batch)
    x = torch.cat([data.states, data.actions], dim=1)
    for i, agent in enumerate(alone):
        torch.testing.assert_close(batched.critic_of(i)(x), agent.critic(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(batched.actor_of(i)(data.states), agent.act(data.states),
                                   atol=1e-5, rtol=1e-5)
        assert type(batched.critic_of(i)) is MLPCritic
        assert type(batched.actor_of(i)) is type(agent.actor)  # type: ignore[attr-defined]


@pytest.mark.parametrize("algorithm", ["cql", "td3"])
def test_seed_by_seed_evaluation_of_large_inputs_matches_separate_runs(
        algorithm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # 500 rows: CQL's penalty inputs (960 rows a seed) run seed by seed, its batches do not
    monkeypatch.setattr(stacked, "SEED_LOOP_ROWS", 500 if algorithm == "cql" else 1)
    test_batched_seeds_match_separate_runs(algorithm, BATCHED_CRITICS["ln"])


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_batched_agent_checkpoint_resumes_exactly(algorithm: str) -> None:
    data, seeds = random_buffer(), [0, 1]
    config = make_config(algorithm, {"critic": {"hidden": [16, 16], "norm": "layernorm"},
                                     "actor_hidden": [16, 16]})
    cls: type[Agent] = agent_class(algorithm)
    agent, clone = cls(5, 2, config, seeds=seeds), cls(5, 2, config, seeds=[7, 8])
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    agent.update(stack([data.sample(16, g) for g in gens]))
    clone.load_state_dict(agent.state_dict())
    batch = stack([data.sample(16, g) for g in gens])
    for a in (agent, clone):
        a.update(batch)
    for i in range(len(seeds)):
        assert torch.equal(agent.actor_of(i)(data.states), clone.actor_of(i)(data.states))
        assert torch.equal(agent.critic_of(i)(torch.cat([data.states, data.actions], 1)),
                           clone.critic_of(i)(torch.cat([data.states, data.actions], 1)))


def test_batched_seeds_reject_batchnorm_and_unknown_options() -> None:
    config = make_config("td3", {"critic": {"hidden": [8], "norm": "batchnorm"}})
    with pytest.raises(ValueError, match="BatchNorm"):
        agent_class("td3")(5, 2, config, seeds=[0, 1])
    with pytest.raises(ValueError, match="unknown algorithm"):
        agent_class("ddpg-x")
    with pytest.raises(ValueError, match="unknown TD3Config option"):
        make_config("td3", {"learning_rate": 1.0})
    with pytest.raises(ValueError, match="expectile"):
        make_config("iql", {"expectile": 1.5})


def test_cql_bfloat16_penalty_stays_close_to_float32() -> None:
    data = random_buffer()
    options = {"critic": {"hidden": [64, 64]}, "actor_hidden": [32, 32]}
    exact = agent_class("cql")(5, 2, make_config("cql", options), seed=0)
    fast = agent_class("cql")(5, 2, make_config("cql", {**options, "penalty_dtype": "bfloat16"}),
                              seed=0)
    batch = data.sample(64, torch.Generator().manual_seed(0))
    penalties, grads = [], []
    for agent in (exact, fast):
        agent.generators[0].manual_seed(1)  # the same sampled actions on both sides
        q_values = agent.q_values(agent.critics, batch.states, batch.actions)
        penalty = agent.conservative_penalty(batch, q_values)
        (grad,) = torch.autograd.grad(penalty, [agent.critics[0].net[0].weight])
        penalties.append(penalty.detach())
        grads.append(grad.flatten())
    assert penalties[1].dtype == torch.float32
    assert not torch.equal(penalties[0], penalties[1])  # bfloat16 did run
    torch.testing.assert_close(penalties[1], penalties[0], rtol=1e-3, atol=0)
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.999
    with pytest.raises(ValueError, match="penalty_dtype"):
        make_config("cql", {"penalty_dtype": "float16"})
