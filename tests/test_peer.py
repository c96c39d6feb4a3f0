"""The d3rlpy peer: configs, the .npz handoff, the store cache, the missing-environment error
and the committed comparison (written and read back without training)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seemrepro.datasets.resolve import synthetic
from seemrepro.engine.store import RunStore
from seemrepro.experiments.results import CorruptResultsError
from seemrepro.tools import peer


def test_missing_bench_venv_names_the_make_target(tmp_path: Path) -> None:
    with pytest.raises(peer.PeerUnavailableError, match="make bench-venv"):
        peer.bench_python(tmp_path / "absent")
    with pytest.raises(peer.PeerUnavailableError, match="make bench-venv"):
        peer.run_worker({"mode": "bench"}, venv=tmp_path / "absent")


def test_export_keeps_every_transition_and_marks_episode_ends(tmp_path: Path) -> None:
    data = synthetic(50, state_dim=4, action_dim=2)
    chained = torch.cat([data.states[1:], data.states[-1:] + 1])  # s'[t] = s[t+1]
    data = dataclasses.replace(data, next_states=chained, terminals=torch.zeros(50),
                               timeouts=torch.zeros(50))
    data.terminals[9] = 1.0
    data.timeouts[29] = 1.0
    data.next_states[39] += 5.0  # a cut in the chain ends an episode too
    path = peer.export_transitions(data, tmp_path / "d.npz")
    out = np.load(path)
    assert set(out.files) == {"observations", "actions", "rewards", "next_observations",
                              "terminals", "timeouts", "episode_ends"}
    np.testing.assert_array_equal(out["observations"], data.states.numpy())
    np.testing.assert_array_equal(out["next_observations"], data.next_states.numpy())
    np.testing.assert_array_equal(out["actions"], data.actions.numpy())
    assert np.flatnonzero(out["episode_ends"]).tolist() == [9, 29, 39, 49]


def test_options_match_our_configs() -> None:
    td3bc = peer.d3rlpy_options("td3bc")
    assert td3bc == {"actor_learning_rate": 3e-4, "critic_learning_rate": 3e-4, "gamma": 0.99,
                     "tau": 0.005, "n_critics": 2, "alpha": 2.5, "target_smoothing_sigma": 0.2,
                     "target_smoothing_clip": 0.5, "update_actor_interval": 2}
    iql = peer.d3rlpy_options("iql")
    assert (iql["expectile"], iql["weight_temp"], iql["max_weight"]) == (0.7, 3.0, 100.0)
    assert peer.d3rlpy_options("cql")["alpha_learning_rate"] == 0.0
    assert peer.hidden_sizes("iql") == [256, 256]
    with pytest.raises(ValueError, match="no d3rlpy counterpart"):
        peer.d3rlpy_options("sac")
    with pytest.raises(ValueError, match="plain MLPs"):
        peer.hidden_sizes("td3bc", {"critic": {"norm": "layernorm"}})


def test_peer_config_key() -> None:
    a = peer.PeerConfig("td3bc", "synthetic/100", seed=0, steps=100)
    assert a.key() == peer.PeerConfig("td3bc", "synthetic/100", seed=0, steps=100).key()
    assert a.key() != dataclasses.replace(a, seed=1).key()
    assert a.key() != dataclasses.replace(a, agent={"tau": 0.01}).key()


def test_agreement_rule() -> None:
    rows = [{"algorithm": "td3bc", "library": lib, "seed": s, "normalized_score": v}
            for lib, values in (("seemrepro", [40, 42, 44]), ("d3rlpy", [41, 43, 45]))
            for s, v in enumerate(values)]
    rows += [{"algorithm": "iql", "library": lib, "seed": s, "normalized_score": v}
             for lib, values in (("seemrepro", [10, 11, 12]), ("d3rlpy", [50, 51, 52]))
             for s, v in enumerate(values)]
    table = peer.agreement(pd.DataFrame(rows)).set_index("algorithm")
    assert table.loc["td3bc", "agree"] and not table.loc["iql", "agree"]
    assert table.loc["td3bc", "pooled seed std"] == pytest.approx(2.0)


@pytest.mark.skipif(not (peer.bench_venv() / "bin" / "python").exists(),
                    reason="needs .venv-bench (make bench-venv)")
def test_d3rlpy_trains_a_few_updates_and_is_cached(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    config = peer.PeerConfig("td3bc", "synthetic/300", steps=4)
    result = peer.train_d3rlpy(config, store)
    assert result["d3rlpy"] == peer.D3RLPY_VERSION and result["transitions"] == 300
    d = peer.run_dir(config, store)
    assert json.loads((d / "config.json").read_text())["options"]["alpha"] == 2.5
    policy = peer.load_policy(d / "policy.pt")
    action = policy(np.zeros(11, dtype=np.float32))
    assert action.shape == (3,) and np.all(np.abs(action) <= 1.0)
    stamp = (d / "result.json").stat().st_mtime_ns
    assert peer.train_d3rlpy(config, store) == result  # from the store, not trained again
    assert (d / "result.json").stat().st_mtime_ns == stamp


# -- committed comparison (no d3rlpy training) ----------------------------------------------------
SPEC = peer.ComparisonSpec(("td3bc", "iql"), "synthetic/100", steps=10, seeds=(0, 1), episodes=2)


def hand_table() -> pd.DataFrame:
    """A table shaped like :func:`peer.compare`'s, with a NaN score and a diverged run."""
    rows = []
    for algorithm in SPEC.algorithms:
        for library in ("seemrepro", "d3rlpy"):
            for seed in SPEC.seeds:
                rows.append({"algorithm": algorithm, "library": library, "seed": seed,
                             "return": 100.0 + seed / 3, "normalized_score": 40.0 + seed / 7,
                             "train_seconds": 1.5, "diverged": None})
    rows[0]["diverged"], rows[0]["return"], rows[0]["normalized_score"] = 8, math.nan, math.nan
    return pd.DataFrame(rows)


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SEEMREPRO_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def test_keys_are_the_engines_and_d3rlpys(tmp_path: Path) -> None:
    keys = SPEC.keys()
    assert len(keys) == 8
    store = RunStore(tmp_path)
    assert keys[("iql", "seemrepro", 1)] == store.key(SPEC.our_config("iql").with_seed(1))
    assert keys[("td3bc", "d3rlpy", 0)] == peer.PeerConfig("td3bc", "synthetic/100",
                                                           steps=10).key()
    # the evaluation episodes are part of our runs' keys (their monitor), not of d3rlpy's
    other = dataclasses.replace(SPEC, episodes=3).keys()
    assert other[("td3bc", "seemrepro", 0)] != keys[("td3bc", "seemrepro", 0)]
    assert other[("td3bc", "d3rlpy", 0)] == keys[("td3bc", "d3rlpy", 0)]


def test_committed_comparison_round_trip(results: Path) -> None:
    keys, table = SPEC.keys(), hand_table()
    path = peer.export_comparison(table, SPEC, keys, profile="book", wall_seconds=12.34,
                                  sources={"computed in this build": 8})
    assert path == results / "PEER" / "book" / "peer.json"
    data = json.loads(path.read_text())
    assert data["provenance"]["episodes"] == 2 and data["provenance"]["wall_seconds"] == 12.3
    assert {"commit", "device", "torch", "d3rlpy", "date"} <= set(data["provenance"])
    assert {r["key"] for r in data["rows"]} == set(keys.values())
    committed = peer.committed_comparison("book", keys, episodes=2)
    assert committed is not None and committed.path == path
    pd.testing.assert_frame_equal(committed.table, table)
    assert peer.committed_comparison("paper", keys) is None  # nothing committed there


def test_committed_comparison_unused_when_keys_or_rows_differ(results: Path) -> None:
    keys = SPEC.keys()
    peer.export_comparison(hand_table(), SPEC, keys, profile="book", wall_seconds=1.0)
    changed = {**keys, ("iql", "d3rlpy", 1): "0" * 16}  # e.g. new code or regenerated data
    assert peer.committed_comparison("book", changed) is None
    fewer = {k: v for k, v in keys.items() if k != ("iql", "d3rlpy", 1)}
    assert peer.committed_comparison("book", fewer) is None
    assert peer.committed_comparison("book", keys, episodes=5) is None
    assert peer.committed_comparison("book", keys, episodes=2) is not None


def test_corrupt_committed_comparison_names_the_file_and_the_export(results: Path) -> None:
    path = peer.comparison_file("book")
    path.parent.mkdir(parents=True)
    for text in ("{not json", json.dumps({"rows": []}), json.dumps({"provenance": {},
                                                                    "rows": [{"seed": 0}]})):
        path.write_text(text)
        with pytest.raises(CorruptResultsError) as error:
            peer.committed_comparison("book", SPEC.keys())
        assert str(path) in str(error.value)
        assert "python -m seemrepro.tools.peer export --profile book" in str(error.value)


def test_export_refuses_smoke_and_incomplete_tables(results: Path) -> None:
    keys, table = SPEC.keys(), hand_table()
    with pytest.raises(ValueError, match="always computed"):
        peer.export_comparison(table, SPEC, keys, profile="smoke", wall_seconds=1.0)
    with pytest.raises(ValueError, match="7 rows"):
        peer.export_comparison(table.iloc[1:], SPEC, keys, profile="book", wall_seconds=1.0)
    assert not peer.comparison_file("book").exists()
    with pytest.raises(SystemExit):  # the command line offers book and paper only
        peer.main(["export", "--profile", "smoke"])


def test_comparison_reads_committed_results_without_training(
        results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = hand_table()
    peer.export_comparison(table, SPEC, SPEC.keys(), profile="book", wall_seconds=1.0,
                           sources={"computed in this build": 8})
    calls: list[int] = []

    def fake_compare(*args: object, **kwargs: object) -> pd.DataFrame:
        calls.append(1)
        return table

    monkeypatch.setattr(peer, "compare", fake_compare)
    monkeypatch.delenv("SEEMREPRO_RECOMPUTE", raising=False)
    store = RunStore(tmp_path / "runs")
    read = peer.comparison(SPEC, "book", store=store)
    assert not calls and read.sources == {"committed results": 8}
    pd.testing.assert_frame_equal(read.table, table)
    note = read.provenance_markdown()
    assert note.startswith("```{admonition} Where this page's 8 trained policies come from")
    assert "**8** read from committed results" in note and "computed at commit `" in note
    # RECOMPUTE ignores them; the smoke profile never reads them
    monkeypatch.setenv("SEEMREPRO_RECOMPUTE", "1")
    again = peer.comparison(SPEC, "book", store=store)
    assert len(calls) == 1 and again.sources == {"computed in this build": 8}
    assert "**8** computed in this build" in again.provenance_markdown()
    monkeypatch.delenv("SEEMREPRO_RECOMPUTE")
    peer.comparison(SPEC, "smoke", store=store)
    assert len(calls) == 2


def test_note_says_when_the_export_read_its_runs_from_a_run_store(results: Path) -> None:
    keys = SPEC.keys()
    peer.export_comparison(hand_table(), SPEC, keys, profile="book", wall_seconds=1.0,
                           sources={"run store": 6, "computed in this build": 2})
    committed = peer.committed_comparison("book", keys)
    assert committed is not None
    note = peer.Comparison(committed.table, "book", Counter({"committed results": 8}),
                           committed).provenance_markdown()
    assert "exported at commit `" in note and "2 of them trained in that export" in note


@pytest.mark.parametrize("profile", peer.COMMITTED_PROFILES)
def test_the_committed_comparison_is_not_stale(profile: str, tmp_path: Path) -> None:
    """Every committed row's key is still the key the current code and data give it (else the
    book retrains it). Without ``make data`` the dataset is generated here from the committed
    recipe, as a fresh clone's book build does (about half a minute)."""
    if not peer.comparison_file(profile).exists():
        pytest.skip(f"no committed peer comparison at {profile}")
    spec = peer.ComparisonSpec.for_profile(profile)
    try:
        keys = spec.keys()
    except ValueError:  # the dataset is not generated in this checkout
        from seemrepro.datasets.generate import generate_locomotion

        assert spec.dataset == "seemrepro/hopper/medium-v0", spec.dataset
        generate_locomotion("Hopper-v5", ["medium"], root=tmp_path, progress=False)
        with peer.datasets_root(tmp_path):
            keys = spec.keys()
    assert peer.committed_comparison(profile, keys, episodes=spec.episodes) is not None, (
        f"{peer.comparison_file(profile)} is stale; re-export it with "
        f"`{peer.export_command(profile)}`")
