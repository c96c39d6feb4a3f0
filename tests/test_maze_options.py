"""Maze options of a run: AntMaze reward shaping, OPER-R sampling, and real AntMaze ids.

Both options are fields of :class:`RunConfig` that enter a run's key only when they differ from
their defaults, so the keys of every run stored before they existed stay valid.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from shared_checks import write_antmaze_like

from seemrepro import seeds
from seemrepro.datasets import load_subset, resolve_dataset
from seemrepro.datasets.minari_io import (
    ANTMAZE_GOAL_KEYS,
    DEFAULT_GOAL_KEYS,
    goal_keys_for,
    load,
)
from seemrepro.engine import MonitorConfig, RunConfig, RunStore, train
from seemrepro.engine.data import prepare, sampling_returns
from seemrepro.engine.loop import batch_groups
from seemrepro.rl.buffers import (
    ANTMAZE_SUCCESS_REWARD,
    TransitionBuffer,
    oper_r_weights,
    transform_rewards,
    transition_returns,
)

ANTMAZE_ID = "D4RL/antmaze/large-play-v1"
SMALL = {"critic": {"hidden": [16, 16]}, "actor_hidden": [16, 16]}
MON = MonitorConfig(q_every=5, seem_every=0, seem_samples=16)

# RunConfig.key_dict() of a default config: the keys every stored run was computed with.
OLD_KEYS = {"algorithm", "dataset", "seed", "steps", "batch_size", "subset", "subset_seed",
            "normalize_states", "agent", "monitors", "start_steps"}


def config(**changes: object) -> RunConfig:
    values: dict = {"algorithm": "td3", "dataset": "synthetic/500", "steps": 10,
                    "batch_size": 16, "agent": SMALL, "monitors": MON}
    values.update(changes)
    return RunConfig(**values)


def episodes_buffer(returns_per_step: list[float], lengths: list[int]) -> TransitionBuffer:
    """Episodes of the given lengths whose every reward is ``returns_per_step[k]``."""
    rewards = torch.cat([torch.full((n,), r) for r, n in zip(returns_per_step, lengths)])
    n = len(rewards)
    starts = torch.tensor(np.cumsum([0, *lengths[:-1]]))
    return TransitionBuffer(torch.randn(n, 3), torch.zeros(n, 2), rewards, torch.randn(n, 3),
                            torch.zeros(n), torch.zeros(n), starts)


# -- run keys --------------------------------------------------------------------------------
def test_default_key_is_unchanged_and_options_enter_it() -> None:
    base = config()
    assert set(base.key_dict()) == OLD_KEYS
    assert set(base.to_dict()) == OLD_KEYS | {"reward_transform", "sampler"}
    shaped = config(reward_transform="antmaze")
    assert shaped.key_dict()["reward_transform"] == "antmaze"
    assert "sampler" not in shaped.key_dict()
    oper = config(sampler="oper-r")
    assert oper.key_dict()["sampler"] == "oper-r"
    assert set(oper.key_dict()) == OLD_KEYS | {"sampler"}
    store = RunStore("/nonexistent")
    keys = {store.key(c) for c in (base, shaped, oper)}
    assert len(keys) == 3
    # a stored record (key_dict and the rest) reads back as the same config
    for c in (base, shaped, oper):
        assert RunConfig.from_dict(c.key_dict()).key_dict() == c.key_dict()
        assert RunConfig.from_dict(c.to_dict()) == c.resolved()


def test_options_split_batched_groups_and_are_checked() -> None:
    groups = batch_groups([config(seed=0), config(seed=1), config(seed=0, sampler="oper-r"),
                           config(seed=1, sampler="oper-r")])
    assert [[c.sampler for c in g] for g in groups] == [["uniform"] * 2, ["oper-r"] * 2]
    with pytest.raises(ValueError, match="reward_transform"):
        config(reward_transform="times-ten")
    with pytest.raises(ValueError, match="sampler"):
        config(sampler="per")
    with pytest.raises(ValueError, match="online"):
        RunConfig("sac", "online/Hopper-v5", sampler="oper-r")


# -- reward shaping --------------------------------------------------------------------------
def test_antmaze_rewards_are_ten_on_success_and_zero_otherwise() -> None:
    r = torch.tensor([0.0, 1.0, 0.0, 1.0])
    assert torch.equal(transform_rewards("antmaze", r), torch.tensor([0.0, 10.0, 0.0, 10.0]))
    assert ANTMAZE_SUCCESS_REWARD == 10.0
    assert transform_rewards("none", r) is r
    with pytest.raises(ValueError, match="sparse"):
        transform_rewards("antmaze", torch.tensor([0.5]))


# -- OPER-R ----------------------------------------------------------------------------------
def test_transition_returns_are_their_episode_returns() -> None:
    buf = episodes_buffer([1.0, 0.0, 2.0], [2, 3, 1])
    assert transition_returns(buf).tolist() == [2.0, 2.0, 0.0, 0.0, 0.0, 2.0]
    no_starts = dataclasses.replace(buf, episode_starts=torch.zeros(0, dtype=torch.long),
                                    terminals=torch.tensor([0, 1, 0, 0, 1, 0.0]))
    assert transition_returns(no_starts).tolist() == [2.0, 2.0, 0.0, 0.0, 0.0, 2.0]


def test_oper_r_weights_follow_the_official_formula() -> None:
    returns = torch.tensor([0.0, 0.0, 5.0, 10.0, 10.0])
    w = oper_r_weights(returns)
    assert w.dtype == torch.float64
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    # (R - min) / (max - min) normalized: 0, 0, 0.5, 1, 1 over 2.5
    np.testing.assert_allclose(w.numpy(), [0, 0, 0.2, 0.4, 0.4])
    assert bool((torch.diff(w) >= 0).all())  # favours high returns
    np.testing.assert_allclose(oper_r_weights(returns, p_base=1.0).numpy(),
                               np.array([1, 1, 1.5, 2, 2]) / 7.5)
    flat = oper_r_weights(torch.full((4,), 3.0))
    np.testing.assert_allclose(flat.numpy(), [0.25] * 4)


def test_weighted_sampling_is_deterministic_and_favours_high_returns() -> None:
    buf = episodes_buffer([0.0, 1.0, 3.0], [40, 40, 20])
    weighted = buf.with_sample_weights(oper_r_weights(transition_returns(buf)))

    def draw(seed: int, data: TransitionBuffer = weighted, n: int = 4000) -> torch.Tensor:
        g = torch.Generator().manual_seed(seeds.MINIBATCHES(seed))
        return data.sample(n, g).rewards

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))
    r = draw(0)
    assert not bool((r == 0.0).any())  # the lowest-return episode has weight 0 (p_base = 0)
    # episode returns 40 and 60: weights 40/60 per step of the second episode vs 60/60 of the
    # third, so the third (20 steps) is drawn 20*1 / (40*2/3 + 20*1) = 3/7 of the time
    assert float((r == 3.0).float().mean()) == pytest.approx(3 / 7, abs=0.03)
    # the weights stay on the CPU next to the generators when the data moves
    assert weighted.to("cpu").sample_weights is weighted.sample_weights
    assert weighted.select(torch.arange(5)).sample_weights is None
    uniform = draw(0, buf)
    assert bool((uniform == 0.0).any())


def test_prepare_shapes_rewards_and_weights_a_subset() -> None:
    source = resolve_dataset("synthetic/400")
    c = config(dataset="synthetic/400", subset=0.5, sampler="oper-r")
    prepared = prepare(c, torch.device("cpu"))
    assert len(prepared.data) == 200
    w = prepared.data.sample_weights
    assert w is not None and float(w.sum()) == pytest.approx(1.0)
    returns = sampling_returns(source, load_subset("synthetic/400", 0.5))
    np.testing.assert_allclose(w.numpy(), oper_r_weights(returns).numpy())
    with pytest.raises(ValueError, match="sparse"):  # Gaussian rewards are no success signal
        prepare(config(dataset="synthetic/400", reward_transform="antmaze"), torch.device("cpu"))


# -- real AntMaze ids -------------------------------------------------------------------------
@pytest.fixture()
def antmaze_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> list[dict[str, np.ndarray]]:
    monkeypatch.setenv("SEEMREPRO_DATASETS_PATH", str(tmp_path / "project"))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "user"))
    monkeypatch.setenv("SEEMREPRO_RUNS", str(tmp_path / "runs"))
    return write_antmaze_like(tmp_path / "project", ANTMAZE_ID, env_id="AntMaze_Large-v4",
                              episode_lengths=(30, 25, 45), successes=(0, 5, 10),
                              goal_range=(0.0, 20.0), ref_max_score=1.0)


def test_antmaze_ids_keep_the_ant_position(antmaze_root: list[dict[str, np.ndarray]]) -> None:
    assert goal_keys_for(ANTMAZE_ID) == ANTMAZE_GOAL_KEYS
    assert goal_keys_for("seemrepro/pointmaze/umaze-v0") == DEFAULT_GOAL_KEYS
    buf = resolve_dataset(ANTMAZE_ID)
    assert (len(buf), buf.state_dim, buf.action_dim) == (100, 31, 8)
    first = antmaze_root[0]
    expected = np.concatenate([first["achieved_goal"][0], first["observation"][0],
                               first["desired_goal"][0]]).astype(np.float32)
    np.testing.assert_array_equal(buf.states[0].numpy(), expected)
    np.testing.assert_array_equal(buf.next_states[29].numpy()[:2],
                                  first["achieved_goal"][30].astype(np.float32))
    assert buf.metadata["env_id"] == "AntMaze_Large-v4"
    assert buf.episode_starts.tolist() == [0, 30, 55]
    assert buf.metadata["episode_returns"].tolist() == [0.0, 5.0, 10.0]
    assert (buf.metadata["ref_min_score"], buf.metadata["ref_max_score"]) == (0.0, 1.0)
    half = load_subset(ANTMAZE_ID, 0.5, seed=3)
    assert len(half) == 50 and half.state_dim == 31
    assert load(ANTMAZE_ID).states.shape == buf.states.shape  # load() picks the same keys


def test_td3_trains_on_an_antmaze_id_with_the_paper_options(
        antmaze_root: list[dict[str, np.ndarray]]) -> None:
    c = config(dataset=ANTMAZE_ID, reward_transform="antmaze", sampler="oper-r")
    prepared = prepare(c, torch.device("cpu"))
    assert set(prepared.data.rewards.unique().tolist()) == {0.0, ANTMAZE_SUCCESS_REWARD}
    w = prepared.data.sample_weights
    assert w is not None
    np.testing.assert_allclose(w[:30].numpy(), 0.0)  # the episode without success
    np.testing.assert_allclose(w[55:].numpy(), 2 * w[30].item())  # 10 vs 5 successes
    store = RunStore()
    results = train(c, seeds=[0, 1], store=store, progress=False)  # two seeds, one model
    assert len(results) == 2 and all(r.diverged_at is None for r in results)
    for r in results:
        steps, q = r.series("q_data")
        assert list(steps) == [0, 5, 10] and np.isfinite(q).all()
    assert not np.array_equal(results[0].series("q_data")[1], results[1].series("q_data")[1])
    again = train(c, seeds=[0, 1], store=store, progress=False)
    assert all(r.cached for r in again)
    (plain,) = train(config(dataset=ANTMAZE_ID), progress=False)
    assert plain.diverged_at is None
