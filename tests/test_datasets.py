"""Offline datasets: loading, X% subsets, normalized scores, corrupt files, generation."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from seemrepro.datasets import (
    DatasetCorruptError,
    DatasetNotFoundError,
    MissingReferenceScoresError,
    list_local,
    load,
    normalized_score,
    subset,
    subset_indices,
)
from seemrepro.datasets.generate import Episode, generate_locomotion, parse_only, write_dataset
from seemrepro.runtime import environment_variable

OBS, ACT = 3, 2


def synthetic_episodes(lengths: list[int], seed: int = 0) -> list[Episode]:
    rng = np.random.default_rng(seed)
    eps = []
    for k, n in enumerate(lengths):
        term = np.zeros(n, bool)
        trunc = np.zeros(n, bool)
        if k % 2 == 0:
            term[-1] = True
        else:
            trunc[-1] = True
        eps.append(Episode(rng.normal(size=(n + 1, OBS)).astype(np.float32),
                           rng.uniform(-1, 1, (n, ACT)).astype(np.float32),
                           np.full(n, float(k + 1), np.float32), term, trunc, k))
    return eps


def box(n: int) -> gym.spaces.Box:
    return gym.spaces.Box(-np.inf, np.inf, (n,), np.float32)


def write_plain_minari(root: Path, dataset_id: str, eps: list[Episode], **kw: object) -> Path:
    """A dataset written by Minari alone (no flat copy, no integrity record), as a user has."""
    import minari
    from minari.data_collector.episode_buffer import EpisodeBuffer

    with environment_variable("MINARI_DATASETS_PATH", str(root)), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        minari.create_dataset_from_buffers(
            dataset_id, [EpisodeBuffer(id=i, observations=e.observations, actions=e.actions,
                                       rewards=e.rewards, terminations=e.terminations,
                                       truncations=e.truncations) for i, e in enumerate(eps)],
            observation_space=kw.pop("observation_space", box(OBS)),  # type: ignore[arg-type]
            action_space=box(ACT), **kw)  # type: ignore[arg-type]
    return root / dataset_id


@pytest.fixture()
def tiny(tmp_path: Path) -> tuple[Path, list[Episode]]:
    eps = synthetic_episodes([5, 7, 3])
    write_dataset(tmp_path, "seemrepro/toy/tiny-v0", eps, None, observation_space=box(OBS),
                  action_space=box(ACT), ref_min=0.0, ref_max=20.0)
    return tmp_path, eps


def test_load_gives_transitions_with_episode_structure(tiny: tuple[Path, list[Episode]]) -> None:
    root, eps = tiny
    buf = load("seemrepro/toy/tiny-v0", root=root)
    assert len(buf) == 15 and buf.state_dim == OBS and buf.action_dim == ACT
    assert buf.episode_starts.tolist() == [0, 5, 12]
    np.testing.assert_array_equal(buf.states[5:12].numpy(), eps[1].observations[:-1])
    np.testing.assert_array_equal(buf.next_states[5:12].numpy(), eps[1].observations[1:])
    assert buf.terminals.nonzero().flatten().tolist() == [4, 14]
    assert buf.timeouts.nonzero().flatten().tolist() == [11]
    assert buf.metadata["episode_returns"].tolist() == [5.0, 14.0, 9.0]
    assert (buf.metadata["ref_min_score"], buf.metadata["ref_max_score"]) == (0.0, 20.0)
    mean, std = buf.state_stats()
    assert torch.allclose(mean, buf.states.mean(0)) and bool((std >= 1e-3).all())
    assert list_local(root) == {"seemrepro/toy/tiny-v0": root / "seemrepro/toy/tiny-v0"}


def test_flat_copy_and_minari_hdf5_agree(tiny: tuple[Path, list[Episode]]) -> None:
    root, _ = tiny
    fast = load("seemrepro/toy/tiny-v0", root=root)
    (root / "seemrepro/toy/tiny-v0/seemrepro_flat.npz").unlink()
    (root / "seemrepro/toy/tiny-v0/seemrepro_integrity.json").unlink()
    write_plain_minari(root, "user/toy/tiny-v0", synthetic_episodes([5, 7, 3]))
    for ds_id in ("user/toy/tiny-v0",):
        slow = load(ds_id, root=root)
        for name in ("states", "actions", "rewards", "next_states", "terminals", "timeouts",
                     "episode_starts"):
            assert torch.equal(getattr(fast, name), getattr(slow, name)), name


def test_missing_dataset_fails_fast_and_says_what_to_do(tiny: tuple[Path, list[Episode]]) -> None:
    root, _ = tiny
    start = time.perf_counter()
    with pytest.raises(DatasetNotFoundError) as err:
        load("seemrepro/hopper/medium-v0", root=root)
    assert time.perf_counter() - start < 1.0
    message = str(err.value)
    assert "seemrepro/hopper/medium-v0" in message and "seemrepro/toy/tiny-v0" in message
    assert "python -m seemrepro.datasets.generate --only seemrepro/hopper/medium-v0" in message
    with pytest.raises(DatasetNotFoundError, match="minari download D4RL/antmaze/large-play-v1"):
        load("D4RL/antmaze/large-play-v1", root=root)


def test_subset_is_deterministic_and_of_the_right_size(tiny: tuple[Path, list[Episode]]) -> None:
    a = subset_indices("seemrepro/hopper/medium-v0", 200_000, 0.01, seed=0)
    assert len(a) == 2_000 and np.all(np.diff(a) > 0) and a.max() < 200_000
    np.testing.assert_array_equal(a, subset_indices("seemrepro/hopper/medium-v0", 200_000, 0.01, 0))
    assert not np.array_equal(a, subset_indices("seemrepro/hopper/medium-v0", 200_000, 0.01, 1))
    assert not np.array_equal(a, subset_indices("seemrepro/hopper/expert-v0", 200_000, 0.01, 0))
    # pinned values: the same indices on every machine and NumPy version
    assert subset_indices("seemrepro/hopper/medium-v0", 1_000, 0.01, seed=0).tolist() == PINNED
    root, _ = tiny
    buf = load("seemrepro/toy/tiny-v0", root=root)
    sub = subset(buf, 0.4, seed=3)
    assert len(sub) == 6 and sub.metadata["subset_fraction"] == 0.4
    idx = torch.as_tensor(sub.metadata["subset_indices"])
    assert torch.equal(sub.states, buf.states[idx]) and torch.equal(sub.actions, buf.actions[idx])
    assert torch.equal(subset(buf, 0.4, seed=3).states, sub.states)
    with pytest.raises(ValueError, match="fraction"):
        subset(buf, 0.0)


PINNED = [8, 105, 152, 245, 291, 349, 407, 517, 897, 949]


def test_normalized_score_and_missing_reference(tiny: tuple[Path, list[Episode]]) -> None:
    root, eps = tiny
    buf = load("seemrepro/toy/tiny-v0", root=root)
    np.testing.assert_allclose(normalized_score([0.0, 10.0, 20.0], buf), [0.0, 50.0, 100.0])
    write_plain_minari(root, "user/toy/noref-v0", eps)
    noref = load("user/toy/noref-v0", root=root)
    with pytest.raises(MissingReferenceScoresError, match="user/toy/noref-v0"):
        normalized_score(1.0, noref)


def test_truncated_file_is_reported_not_half_read(tiny: tuple[Path, list[Episode]]) -> None:
    root, eps = tiny
    data = root / "seemrepro/toy/tiny-v0/data/main_data.hdf5"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(DatasetCorruptError) as err:
        load("seemrepro/toy/tiny-v0", root=root)
    assert str(data) in str(err.value) and "--only seemrepro/toy/tiny-v0" in str(err.value)
    # a dataset without an integrity record: the HDF5 reader's failure is reported the same way
    user = write_plain_minari(root, "user/toy/cut-v0", eps)
    data = user / "data/main_data.hdf5"
    data.write_bytes(data.read_bytes()[: data.stat().st_size - 200])
    with pytest.raises(DatasetCorruptError, match="user/toy/cut-v0"):
        load("user/toy/cut-v0", root=root)


def test_unfinished_generation_is_detected(tiny: tuple[Path, list[Episode]]) -> None:
    root, _ = tiny
    (root / "seemrepro/toy/tiny-v0/seemrepro_integrity.json").unlink()
    with pytest.raises(DatasetCorruptError, match="integrity record"):
        load("seemrepro/toy/tiny-v0", root=root)
    # a staging folder left by an interrupted run is not listed as a dataset
    (root / ".staging-1/seemrepro/x/y-v0/data").mkdir(parents=True)
    (root / ".staging-1/seemrepro/x/y-v0/data/metadata.json").write_text("{}")
    assert ".staging-1" not in "".join(list_local(root))


def test_dict_observations_are_flattened_with_the_goal(tmp_path: Path) -> None:
    n = 4
    obs = {"observation": np.arange((n + 1) * 4, dtype=np.float32).reshape(n + 1, 4),
           "achieved_goal": np.zeros((n + 1, 2), np.float32),
           "desired_goal": np.full((n + 1, 2), 9.0, np.float32)}
    ep = Episode(obs, np.zeros((n, ACT), np.float32), np.zeros(n, np.float32),
                 np.zeros(n, bool), np.array([0, 0, 0, 1], bool), 0)
    space = gym.spaces.Dict({"observation": box(4), "achieved_goal": box(2),
                             "desired_goal": box(2)})
    write_plain_minari(tmp_path, "user/maze/toy-v0", [ep], observation_space=space)
    buf = load("user/maze/toy-v0", root=tmp_path)
    assert buf.state_dim == 6
    np.testing.assert_array_equal(buf.states[1].numpy(), [4, 5, 6, 7, 9, 9])
    write_dataset(tmp_path, "seemrepro/maze/toy-v0", [ep], None, observation_space=space,
                  action_space=box(ACT))
    assert torch.equal(load("seemrepro/maze/toy-v0", root=tmp_path).states, buf.states)


def test_parse_only() -> None:
    assert parse_only(["seemrepro/hopper/medium-v0", "walker2d/random"]) == {
        ("Hopper-v5", "v0"): ["medium"], ("Walker2d-v5", "v0"): ["random"]}
    assert len(parse_only(["halfcheetah"])[("HalfCheetah-v5", "v0")]) == 5
    assert parse_only(["pointmaze/large", "seemrepro/pointmaze/umaze-v0"]) == {
        ("pointmaze", "v0"): ["umaze", "large"]}
    assert parse_only(["seemrepro/hopper/medium-replay-v1", "hopper/random",
                       "hopper/medium-v1"]) == {
        ("Hopper-v5", "v1"): ["medium", "medium-replay"], ("Hopper-v5", "v0"): ["random"]}
    with pytest.raises(ValueError, match="unknown dataset family"):
        parse_only(["ant/medium"])
    with pytest.raises(ValueError, match="unknown dataset version 'v7'"):
        parse_only(["hopper/medium-v7"])
    with pytest.raises(ValueError, match="unknown dataset version"):
        parse_only(["pointmaze/umaze-v1"])


def test_random_generation_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        generate_locomotion("Hopper-v5", ["random"], root=root, scale=0.002, ref_episodes=3,
                            progress=False)
    x, y = load("seemrepro/hopper/random-v0", root=a), load("seemrepro/hopper/random-v0", root=b)
    assert len(x) == 400 and torch.equal(x.states, y.states) and torch.equal(x.actions, y.actions)
    assert float(x.actions.abs().max()) <= 1.0


def test_a_dataset_version_reads_its_own_recipe(tmp_path: Path) -> None:
    from seemrepro.datasets.generate import has_recipe

    if not has_recipe("Hopper-v5", "v1"):
        pytest.skip("no committed version 1 recipe for Hopper-v5")
    for version in ("v0", "v1"):
        generate_locomotion("Hopper-v5", ["random"], root=tmp_path, scale=0.002, version=version,
                            ref_episodes=2, progress=False)
    v0, v1 = (load(f"seemrepro/hopper/random-{v}", root=tmp_path) for v in ("v0", "v1"))
    assert torch.equal(v0.actions, v1.actions)  # the random policy is the same
    # the reference expert is each version's own: TD3's at about 600, SAC's above 3,000
    assert v0.metadata["ref_max_score"] < 1000
    assert v1.metadata["ref_max_score"] > 3000
    with pytest.raises(ValueError, match="unknown dataset version"):
        generate_locomotion("Hopper-v5", ["random"], root=tmp_path, version="v9")


def test_maze_generation_flattens_goal_and_uses_sparse_reward(tmp_path: Path) -> None:
    pytest.importorskip("gymnasium_robotics")
    from seemrepro.datasets.maze import generate_maze, maze_dataset_id

    generate_maze(["umaze"], root=tmp_path, scale=0.005, ref_episodes=2, progress=False)
    buf = load(maze_dataset_id("umaze"), root=tmp_path)
    assert len(buf) == 1_000 and buf.state_dim == 6 and buf.action_dim == 2
    assert buf.metadata["env_id"] == "PointMaze_UMaze-v3"
    assert buf.metadata["max_episode_steps"] == 300
    assert set(buf.rewards.unique().tolist()) <= {0.0, 1.0}
    assert buf.metadata["ref_max_score"] > buf.metadata["ref_min_score"]
    # the goal occupies the last two state entries and changes after an arrival
    assert len(torch.unique(buf.states[:, 4:], dim=0)) > 1


def test_flipped_bytes_are_caught_by_the_hash(tiny: tuple[Path, list[Episode]]) -> None:
    root, _ = tiny
    flat = root / "seemrepro/toy/tiny-v0/seemrepro_flat.npz"
    raw = bytearray(flat.read_bytes())
    raw[-40] ^= 0xFF  # same size, different content
    flat.write_bytes(bytes(raw))
    with pytest.raises(DatasetCorruptError, match="SHA-256"):
        load("seemrepro/toy/tiny-v0", root=root, verify_hash=True)


def test_missing_skips_complete_datasets_and_keeps_partial_ones(tmp_path: Path) -> None:
    from seemrepro.datasets.generate import parse_only, without_present

    plan = parse_only(["hopper/medium", "pointmaze/umaze"])
    assert without_present(plan, tmp_path) == plan  # nothing there yet
    partial = tmp_path / "seemrepro" / "hopper" / "medium-v0" / "data"
    partial.mkdir(parents=True)  # a generation that stopped before its integrity record
    assert without_present(plan, tmp_path) == plan
