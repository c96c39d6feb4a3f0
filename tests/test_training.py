"""The training engine: monitors, divergence, run store, resumption and batched seeds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from shared_checks import assert_same_runs

from seemrepro.core.critics import make_critic
from seemrepro.datasets import resolve as rollouts
from seemrepro.engine import MonitorConfig, RunConfig, RunStore, train
from seemrepro.engine.loop import batch_groups, train_runs
from seemrepro.engine.monitors import SIMILARITY_METRICS, flat_parameters, similarity_rows
from seemrepro.rl.networks import DeterministicActor

SMALL = {"critic": {"hidden": [32, 32]}, "actor_hidden": [32, 32]}
MON = MonitorConfig(q_every=20, seem_every=40, seem_samples=64, checkpoint_every=40)


def config(**changes: object) -> RunConfig:
    values: dict = {"algorithm": "td3", "dataset": "synthetic/2000", "steps": 120,
                    "batch_size": 32, "agent": {**SMALL, "tau": 1.0}, "monitors": MON}
    values.update(changes)
    return RunConfig(**values)


def test_monitors_record_tidy_rows() -> None:
    (result,) = train(config(), progress=False)
    frame = result.frame()
    assert list(frame.columns) == ["step", "seed", "metric", "value"]
    metrics = set(frame.metric)
    assert {"q_data", "q_policy", "param_norm", "seem", "seem_normalized",
            "action_corner_ratio", "data_action_corner_ratio"} <= metrics
    steps, _ = result.series("seem_normalized")
    assert list(steps) == [0, 40, 80, 120]
    assert result.diverged_at is None


def test_similarity_to_the_reference_checkpoint_is_recorded_per_snapshot() -> None:
    mon = MonitorConfig(q_every=20, seem_every=0, seem_samples=64, snapshot_every=40,
                        checkpoint_every=40)
    (result,) = train(config(monitors=mon), progress=False)
    for metric in SIMILARITY_METRICS:
        steps, values = result.series(metric)
        assert list(steps) == [0, 40, 80, 120]
        assert values[-1] == pytest.approx(1.0)  # the reference is the last snapshot
        assert np.all(values <= 1 + 1e-9)
    # training moves the networks: the first snapshot differs from the reference
    _, params = result.series("cos_critic_params")
    _, actions = result.series("cos_actions")
    assert params[0] < 0.999 and actions[0] < 0.999


def test_similarity_rows_measure_the_right_quantities() -> None:
    critic = make_critic(5, (16, 16), seed=0, bias=False)
    other = make_critic(5, (16, 16), seed=1, bias=False)
    actor = DeterministicActor(3, 2, (16,))
    x = rollouts.synthetic(40, state_dim=3, action_dim=2).batch(torch.arange(40))
    c0, a0 = flat_parameters(critic), flat_parameters(actor)
    snapshots = {0: {"critic": flat_parameters(other), "actor": -a0},
                 10: {"critic": 3 * c0, "actor": a0}, 20: {"critic": c0, "actor": a0}}
    rows = {(step, metric): value for step, _, metric, value in
            similarity_rows(snapshots, critic, actor, x, seed=7)}
    assert rows[(10, "cos_critic_params")] == pytest.approx(1.0)
    assert rows[(0, "cos_critic_params")] < 0.5  # independent initializations
    assert rows[(0, "cos_actor_params")] == pytest.approx(-1.0)
    assert rows[(10, "cos_actions")] == pytest.approx(1.0)
    assert rows[(0, "cos_actions")] < 0.9
    # a bias-free ReLU net scaled by 3 keeps its NTK's direction (Theorem 2); another
    # initialization does not
    assert rows[(10, "cos_ntk")] == pytest.approx(1.0, abs=1e-9)
    assert rows[(0, "cos_ntk")] < 0.99
    assert rows[(0, "similarity_reference_step")] == 20.0
    assert torch.equal(flat_parameters(critic), c0)  # the given modules are left untouched


def test_interrupted_run_resumes_to_identical_metrics(tmp_path: Path) -> None:
    cfg = config()
    (reference,) = train(cfg, store=RunStore(tmp_path / "a"), progress=False)
    store = RunStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, store=store, progress=False, interrupt_at=90)
    assert not store.is_done(cfg.resolved())
    (resumed,) = train(cfg, store=store, progress=False)
    assert resumed.rows == reference.rows
    # a finished run is read back, never trained again (training would be interrupted here)
    (again,) = train(cfg, store=store, progress=False, interrupt_at=1)
    assert again.rows == reference.rows


def test_interrupted_online_run_resumes_exactly(tmp_path: Path) -> None:
    # the environment's physics, its random generator and the time limit are checkpointed too
    cfg = RunConfig(algorithm="sac", dataset="online/Hopper-v5", steps=70, batch_size=16,
                    start_steps=20, agent=SMALL,
                    monitors=MonitorConfig(q_every=10, seem_every=0, checkpoint_every=30))
    (reference,) = train(cfg, store=RunStore(tmp_path / "a"), progress=False)
    store = RunStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        train(cfg, store=store, progress=False, interrupt_at=50)
    (resumed,) = train(cfg, store=store, progress=False)
    assert resumed.rows == reference.rows


def test_batched_seeds_match_sequential_runs() -> None:
    cfg = config(agent={**SMALL, "critic": {"hidden": [32, 32], "norm": "layernorm"}})
    batched = train(cfg, seeds=[0, 1, 2], progress=False)
    alone = train(cfg, seeds=[0, 1, 2], batched=False, progress=False)
    assert_same_runs(batched, alone)


def test_divergence_ends_the_run_and_the_sweep_goes_on(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    blow_up = config(agent={**SMALL, "tau": 1.0, "critic_lr": 10.0},
                     monitors=MonitorConfig(q_every=20, seem_every=0, checkpoint_every=40))
    results = train(blow_up, seeds=[0, 1], store=store, progress=False)
    for r in results:
        assert r.diverged_at is not None and r.diverged_at <= 120
        assert max(s for s, *_ in r.rows) == r.diverged_at
        assert store.is_done(r.config)
    (calm,) = train(config(), store=store, progress=False)
    assert calm.diverged_at is None


def test_offline_iql_cql_and_online_sac_run() -> None:
    mon = MonitorConfig(q_every=10, seem_every=0, eval_every=20, eval_episodes=1)
    for algorithm in ("iql", "cql", "td3bc"):
        (r,) = train(config(algorithm=algorithm, dataset="rollout/Hopper-v5/500", steps=20,
                            agent=SMALL, monitors=mon), progress=False)
        assert np.isfinite(r.series("normalized_score")[1]).all()
    (r,) = train(config(algorithm="sac", dataset="online/Hopper-v5", steps=40, start_steps=20,
                        agent=SMALL, monitors=mon), progress=False)
    assert len(r.series("q_data")[0]) == 5


@pytest.mark.parametrize("changes, message", [
    ({"algorithm": "ddpg"}, "unknown algorithm"), ({"algorithm": "sac"}, "online"),
    ({"subset": 0.0}, "subset"),
])
def test_bad_run_configs_are_rejected(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(**changes)


def test_unknown_dataset_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="dataset"):
        train(config(dataset="nosuch/thing-v0"), progress=False)


def test_runs_differing_in_data_and_member_scalars_batch_exactly_as_alone() -> None:
    base = config(agent={**SMALL, "bc_alpha": 2.5})
    runs = [dataclasses.replace(base, subset=subset, seed=seed,
                                agent={**base.agent, "gamma": gamma, "bc_alpha": alpha})
            for subset, seed, gamma, alpha in [(1.0, 0, 0.99, 2.5), (0.5, 0, 0.9, 2.5),
                                                (0.5, 1, 0.99, 1.0), (0.25, 2, 0.95, 4.0)]]
    assert [len(g) for g in batch_groups(runs)] == [4]  # one batched model
    grouped = train_runs(runs, progress=False)
    alone = train_runs(runs, batched=False, progress=False)
    assert [g.config for g in grouped] == [a.config.resolved() for a in alone]
    assert_same_runs(grouped, alone)


def test_batch_groups_split_what_cannot_share_one_model() -> None:
    base = config(agent=SMALL)
    layernorm = config(agent={**SMALL, "critic": {"hidden": [32, 32], "norm": "layernorm"}})
    bc = config(agent={**SMALL, "bc_alpha": 2.5})  # another actor loss than bc_alpha = 0
    longer = dataclasses.replace(base, steps=base.steps * 2)
    lr = config(agent={**SMALL, "critic_lr": 1e-3})  # not a member scalar: optimizer state
    runs = [base, base.with_seed(1), layernorm, bc, longer, lr]
    assert [len(g) for g in batch_groups(runs)] == [2, 1, 1, 1, 1]
    assert [len(g) for g in batch_groups([base.with_seed(s) for s in range(5)], 2)] == [2, 2, 1]


@pytest.mark.parametrize("critic", [{"norm": "batchnorm"}, {"dropout": 0.1}])
def test_batchnorm_and_dropout_runs_train_alone_and_finish(critic: dict[str, object]) -> None:
    runs = [config(agent={**SMALL, "critic": {"hidden": [32, 32], **critic}}, seed=s)
            for s in (0, 1)]
    runs.append(dataclasses.replace(runs[0], subset=0.5))  # same dims, other data: still alone
    assert [len(g) for g in batch_groups(runs)] == [1, 1, 1]
    results = train_runs(runs, progress=False)
    assert [r.config.seed for r in results] == [0, 1, 0]
    assert all(r.rows for r in results)


def test_members_may_differ_only_in_member_scalars() -> None:
    from seemrepro.rl.agents import TD3, make_config

    one = make_config("td3", SMALL)
    with pytest.raises(ValueError, match="may differ only in gamma, bc_alpha"):
        TD3(3, 1, one, seeds=[0, 1],
            member_configs=[one, make_config("td3", {**SMALL, "tau": 0.5})])
