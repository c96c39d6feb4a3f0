"""The training engine: monitors, divergence, run store, resumption and batched seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seemrepro.runstore import RunStore
from seemrepro.training import MonitorConfig, RunConfig, train

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


def test_batched_seeds_match_sequential_runs() -> None:
    cfg = config(agent={**SMALL, "critic": {"hidden": [32, 32], "norm": "layernorm"}})
    batched = train(cfg, seeds=[0, 1, 2], progress=False)
    alone = train(cfg, seeds=[0, 1, 2], batched=False, progress=False)
    for b, a in zip(batched, alone):
        assert [r[:3] for r in b.rows] == [r[:3] for r in a.rows]
        np.testing.assert_allclose([r[3] for r in b.rows], [r[3] for r in a.rows],
                                   rtol=1e-4, atol=1e-5)


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
