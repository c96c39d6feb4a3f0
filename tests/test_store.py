"""The run store: keys, staleness, tidy frames and checkpoints that load with weights_only.

Resumption of single-seed runs is in ``test_training.py``; here batched seeds, the default
checkpoint interval and the checkpoint files themselves."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from seemrepro.engine import MonitorConfig, RunConfig, RunStore, load_frame, train, versions
from seemrepro.engine.store import CHECKPOINTS, key_record

TINY = {"critic": {"hidden": [16]}, "actor_hidden": [16]}
MON = MonitorConfig(q_every=10, seem_every=0)


def tiny(norm: str = "none", **changes: Any) -> RunConfig:
    values: dict[str, Any] = {"algorithm": "td3", "dataset": "synthetic/200", "steps": 20,
                              "batch_size": 16, "monitors": MON,
                              "agent": {**TINY, "critic": {"hidden": [16], "norm": norm}}}
    values.update(changes)
    return RunConfig(**values)


@pytest.fixture(scope="module")
def two_norms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four runs: critic.norm none and layernorm, seeds 0 and 1."""
    root = tmp_path_factory.mktemp("runs")
    for norm in ("none", "layernorm"):
        train(tiny(norm), [0, 1], store=RunStore(root), progress=False)
    return root


# -- tidy frames -------------------------------------------------------------------------------
def test_load_frame_has_rows_and_config_columns(two_norms: Path) -> None:
    frame = load_frame(two_norms)
    assert list(frame.columns[:4]) == ["step", "seed", "metric", "value"]
    assert {"agent.critic.norm", "agent.critic.hidden", "algorithm", "dataset", "subset",
            "monitors.q_every", "code_version", "data_fingerprint", "diverged_at", "status",
            "key"} <= set(frame.columns)
    assert frame.key.nunique() == 4 and set(frame.seed) == {0, 1}
    assert set(frame.status) == {"done"} and set(frame.algorithm) == {"td3"}
    assert set(frame.code_version) == {versions.code_version("td3")}
    assert set(frame.data_fingerprint) == {versions.data_fingerprint("synthetic/200")}
    assert set(frame["agent.critic.hidden"]) == {(16,)}
    # each run's rows carry its own seed and config
    per_run = frame.groupby("key")[["seed", "agent.critic.norm"]].nunique()
    assert (per_run == 1).all().all()
    assert sorted(frame.groupby("key")["agent.critic.norm"].first()) == [
        "layernorm", "layernorm", "none", "none"]


@pytest.mark.parametrize("filters, norms, metrics", [
    ({"agent__critic__norm": "layernorm"}, {"layernorm"}, None),
    ({"agent__critic__norm": {"none", "layernorm"}}, {"none", "layernorm"}, None),
    ({"agent__critic__norm": "none", "seed": 1}, {"none"}, None),
    ({"metrics": "q_data"}, {"none", "layernorm"}, {"q_data"}),
    ({"metrics": ["q_data", "param_norm"]}, {"none", "layernorm"}, {"q_data", "param_norm"}),
])
def test_load_frame_filters(two_norms: Path, filters: dict[str, Any], norms: set[str],
                            metrics: set[str] | None) -> None:
    frame = load_frame(two_norms, **filters)
    assert set(frame["agent.critic.norm"]) == norms
    assert frame.key.nunique() == len(norms) * (1 if "seed" in filters else 2)
    if metrics is not None:
        assert set(frame.metric) == metrics
    else:
        assert len(set(frame.metric)) > 2


def test_load_frame_rejects_an_unknown_filter(two_norms: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown filter.*'agent\.critic\.nrom'.*"
                                         r"agent\.critic\.norm"):
        load_frame(two_norms, agent__critic__nrom="layernorm")


# -- keys and staleness ------------------------------------------------------------------------
def test_key_covers_config_code_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    store, config = RunStore("unused"), tiny()
    record = key_record(config)
    assert record["code_version"] == versions.code_version("td3")
    assert record["data_fingerprint"] == versions.data_fingerprint("synthetic/200")
    key = store.key(config)
    assert store.key(tiny("layernorm")) != key
    # the dataset regenerated under the same id: new data, new key
    monkeypatch.setattr("seemrepro.engine.store.data_fingerprint", lambda dataset: "regenerated")
    assert key_record(config)["data_fingerprint"] == "regenerated"
    assert store.key(config) != key


def test_checkpoint_interval_is_not_part_of_the_key() -> None:
    store = RunStore("unused")

    def key(**monitors: Any) -> str:
        return store.key(tiny(monitors=dataclasses.replace(MON, **monitors)))

    assert key(checkpoint_every=5) == key(checkpoint_every=500) == key()
    assert "checkpoint_every" not in key_record(tiny())["monitors"]
    assert key(q_every=5) != key()  # other monitor intervals change the rows: they are keyed


def make_stale(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if kind == "stale-code":  # code_version reads the module global when called
        monkeypatch.setattr(versions, "ENGINE_VERSION", versions.ENGINE_VERSION + 1)
    else:
        monkeypatch.setattr("seemrepro.engine.store.data_fingerprint", lambda dataset: "new")


@pytest.mark.parametrize("kind", ["stale-code", "stale-data"])
def test_stale_runs_are_reported_left_out_and_retrained(
        kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, config = RunStore(tmp_path), tiny()
    train(config, store=store, progress=False)
    old_key = store.key(config)
    make_stale(kind, monkeypatch)
    assert [(r.key, r.status) for r in store.runs()] == [(old_key, kind)]
    assert load_frame(tmp_path).empty
    stale = load_frame(tmp_path, include_stale=True)
    assert set(stale.key) == {old_key} and set(stale.status) == {kind}
    (again,) = train(config, store=store, progress=False)
    assert not again.cached and store.key(config) != old_key
    assert sorted(r.status for r in store.runs()) == sorted(["done", kind])
    assert set(load_frame(tmp_path).key) == {store.key(config)}


# -- checkpoints -------------------------------------------------------------------------------
def test_default_checkpoint_interval() -> None:
    assert MonitorConfig(checkpoint_every=0).checkpoint_interval(200) == 10
    assert MonitorConfig().checkpoint_interval(10) == 1
    assert MonitorConfig().checkpoint_interval(10**7) == 10_000
    assert MonitorConfig(checkpoint_every=7).checkpoint_interval(200) == 7


def online(steps: int = 60) -> RunConfig:
    return RunConfig("sac", "online/Hopper-v5", steps=steps, start_steps=20, batch_size=16,
                     agent=TINY, monitors=MonitorConfig(q_every=10, seem_every=0,
                                                        checkpoint_every=15))


@pytest.mark.parametrize("config, interrupt_at, checkpointed_at", [
    # the default interval (a twentieth): a run killed near its end loses under 10 steps
    (tiny(steps=200), 194, 190),
    (online(), 50, 45),
], ids=["offline", "online"])
def test_batched_runs_resume_from_weights_only_checkpoints(
        config: RunConfig, interrupt_at: int, checkpointed_at: int, tmp_path: Path) -> None:
    seeds = [0, 1]
    reference = train(config, seeds, store=RunStore(tmp_path / "a"), progress=False)
    store = RunStore(tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        train(config, seeds, store=store, progress=False, interrupt_at=interrupt_at)
    (path,) = (tmp_path / "b" / config.algorithm / CHECKPOINTS).glob("*.pt")
    raw = torch.load(path, weights_only=True)  # only tensors and plain values
    assert raw["step"] == checkpointed_at
    if config.online:
        state = store.load_checkpoint(config.algorithm, path.stem)
        assert state is not None
        saved = state["online"]
        assert len(saved["replays"]) == len(saved["obs"]) == len(saved["rngs"]) == 2
        assert all(isinstance(o, np.ndarray) for o in saved["obs"])
        assert all(isinstance(e["physics"], np.ndarray) for e in saved["env_states"])
    resumed = train(config, seeds, store=store, progress=False)
    for r, ref in zip(resumed, reference, strict=True):
        assert not r.cached and r.rows == ref.rows
    assert not path.exists()  # dropped once the runs are saved
