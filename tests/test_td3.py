import copy

import pytest
import torch

from seemrepro.core.critics import CriticConfig
from seemrepro.datasets.resolve import synthetic
from seemrepro.rl.agents.td3 import TD3, TD3Config, soft_update
from seemrepro.rl.buffers import ReplayBuffer, TransitionBuffer


def random_buffer(n: int = 512, s: int = 5, a: int = 2, seed: int = 0) -> TransitionBuffer:
    return synthetic(n, s, a, seed)


@pytest.mark.parametrize("config", [
    TD3Config(), TD3Config(tau=1.0, double_q=False, policy_delay=1),
    TD3Config(bc_alpha=2.5, critic=CriticConfig(norm="layernorm")),
    TD3Config(critic=CriticConfig(hidden=(32, 32, 32), norm="batchnorm"), critic_weight_decay=1e-3),
])
def test_td3_updates_change_parameters_and_report_metrics(config: TD3Config) -> None:
    data = random_buffer()
    agent = TD3(5, 2, config, seed=0)
    before = [p.clone() for p in agent.critic.parameters()]
    g = torch.Generator().manual_seed(1)
    for _ in range(4):
        metrics = agent.update(data.sample(64, g))
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    assert any(not torch.equal(b, p) for b, p in zip(before, agent.critic.parameters()))
    assert len(agent.critics) == (2 if config.double_q else 1)
    assert agent.act(data.states[:3]).abs().max() <= config.max_action


def test_td3_is_deterministic_for_a_seed_and_state_dict_round_trips() -> None:
    data = random_buffer()

    def run(agent: TD3, steps: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            agent.update(data.sample(32, g))

    a, b = TD3(5, 2, seed=3), TD3(5, 2, seed=3)
    run(a, 6, 0)
    run(b, 6, 0)
    assert torch.equal(a.act(data.states), b.act(data.states))
    c = TD3(5, 2, seed=9)
    c.load_state_dict(a.state_dict())
    run(a, 3, 1)
    run(c, 3, 1)
    assert torch.equal(a.act(data.states), c.act(data.states))


def test_tau_one_uses_current_networks_as_target() -> None:
    agent = TD3(5, 2, TD3Config(tau=1.0), seed=0)
    assert agent._targets()[1] is agent.critics


@pytest.mark.parametrize("options, message", [
    ({"gamma": 1.0}, "gamma"), ({"tau": 0.0}, "tau"), ({"policy_delay": 0}, "policy_delay"),
    ({"bc_alpha": -1.0}, "bc_alpha"),
])
def test_bad_td3_config_is_rejected(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TD3Config(**options)


def test_buffers_stats_subsets_and_replay() -> None:
    data = random_buffer(100)
    mean, std = data.state_stats()
    assert mean.shape == (5,) and (std >= 1e-3).all()
    subset = data.select(torch.arange(10))
    assert len(subset) == 10 and subset.metadata["subset_of"] == 100
    with pytest.raises(ValueError, match="rows"):
        TransitionBuffer(data.states, data.actions[:5], data.rewards, data.next_states,
                         data.terminals, data.timeouts, data.episode_starts)
    replay = ReplayBuffer(3, 2, 1)
    import numpy as np
    for i in range(5):
        replay.add(np.full(2, i), np.zeros(1), float(i), np.full(2, i + 1), i == 4)
    assert len(replay) == 3
    batch = replay.sample(8, np.random.default_rng(0))
    assert set(batch.rewards.tolist()) <= {2.0, 3.0, 4.0}


def test_targets_follow_the_ema_and_the_actor_loss_leaves_critics_trainable() -> None:
    data = random_buffer()
    agent = TD3(5, 2, TD3Config(policy_delay=1, bc_alpha=2.5), seed=0)
    g = torch.Generator().manual_seed(0)
    agent.update(data.sample(32, g))
    expected = [copy.deepcopy(agent.actor_target), copy.deepcopy(agent.critics_target)]
    agent.update(data.sample(32, g))
    for target, source in zip(expected, (agent.actor, agent.critics), strict=True):
        soft_update(target, source, agent.config.tau)
    for target, actual in zip(expected, (agent.actor_target, agent.critics_target), strict=True):
        for t, a in zip(target.state_dict().values(), actual.state_dict().values(), strict=True):
            assert torch.equal(t, a)
    assert all(p.requires_grad for p in agent.critics.parameters())
    with pytest.raises(RuntimeError), agent.frozen(agent.critics):
        assert not any(p.requires_grad for p in agent.critics.parameters())
        raise RuntimeError
    assert all(p.requires_grad for p in agent.critics.parameters())
