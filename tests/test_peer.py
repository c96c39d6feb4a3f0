"""The d3rlpy peer: configs, the .npz handoff, the store cache and the missing-environment error."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seemrepro.datasets.resolve import synthetic
from seemrepro.engine.store import RunStore
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
