"""Reading Minari datasets into :class:`~seemrepro.rl.buffers.TransitionBuffer`.

Datasets are looked up locally only (the project's own root first, then the user's Minari root);
the network is touched only when the caller passes ``download=True``. Every file is checked
before use and read completely before a buffer is returned, so a corrupt or partly written
dataset raises :class:`DatasetCorruptError` instead of giving a truncated buffer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# No hub retries when a dataset is missing: the hub client is allowed online only for download=True.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import h5py
import numpy as np
import torch

from seemrepro.rl.buffers import TransitionBuffer
from seemrepro.runtime import project_root

PROJECT_NAMESPACE = "seemrepro"
INTEGRITY_FILE = "seemrepro_integrity.json"
DATA_FILE = "main_data.hdf5"
FLAT_FILE = "seemrepro_flat.npz"
FLAT_KEYS: tuple[str, ...] = ("observations", "actions", "rewards", "terminations",
                              "truncations", "lengths")
DEFAULT_GOAL_KEYS: tuple[str, ...] = ("observation", "desired_goal")
# AntMaze's ``observation`` (27 numbers) leaves out the ant's x–y position, which is its
# ``achieved_goal``; put first, it gives D4RL's 29-number antmaze state (qpos then qvel).
ANTMAZE_GOAL_KEYS: tuple[str, ...] = ("achieved_goal", "observation", "desired_goal")


class DatasetNotFoundError(FileNotFoundError):
    """The dataset id is not in any local root (and no download was asked for)."""


class DatasetCorruptError(RuntimeError):
    """A dataset's files are missing, truncated or inconsistent with their metadata."""


class MissingReferenceScoresError(ValueError):
    """The dataset has no reference scores, so no normalized score can be given."""


def project_datasets_root() -> Path:
    """Where ``make data`` writes: ``$SEEMREPRO_DATASETS_PATH`` or ``data/minari`` in the repo."""
    override = os.environ.get("SEEMREPRO_DATASETS_PATH")
    return Path(override) if override else project_root() / "data" / "minari"


def user_minari_root() -> Path:
    """Minari's own root (``$MINARI_DATASETS_PATH`` or ``~/.minari/datasets``), not created here."""
    override = os.environ.get("MINARI_DATASETS_PATH")
    return Path(override) if override else Path.home() / ".minari" / "datasets"


def search_roots(root: Path | str | None = None) -> list[Path]:
    if root is not None:
        return [Path(root)]
    roots = [project_datasets_root(), user_minari_root()]
    return list(dict.fromkeys(r.resolve() for r in roots))


def regenerate_command(dataset_id: str) -> str:
    if dataset_id.startswith(PROJECT_NAMESPACE + "/"):
        return f"python -m seemrepro.datasets.generate --only {dataset_id}  (or: make data)"
    return f"minari download {dataset_id}  (needs internet; or load(..., download=True))"


def list_local(root: Path | str | None = None) -> dict[str, Path]:
    """Ids of the datasets found under the search roots, mapped to their directories."""
    found: dict[str, Path] = {}
    for base in search_roots(root):
        if not base.is_dir():
            continue
        for meta in sorted(base.glob("**/data/metadata.json")):
            dataset_dir = meta.parent.parent
            rel = dataset_dir.relative_to(base)
            if any(part.startswith(".") for part in rel.parts):
                continue  # staging area of an unfinished generation
            found.setdefault(rel.as_posix(), dataset_dir)
    return dict(sorted(found.items()))


def find_dataset(dataset_id: str, root: Path | str | None = None) -> Path | None:
    for base in search_roots(root):
        candidate = base / dataset_id
        if (candidate / "data").is_dir():
            return candidate
    return None


def _not_found(dataset_id: str, root: Path | str | None) -> DatasetNotFoundError:
    local = list(list_local(root))
    listing = "\n  ".join(local) if local else "(none)"
    roots = ", ".join(str(r) for r in search_roots(root))
    return DatasetNotFoundError(
        f"dataset {dataset_id!r} is not available locally (searched {roots}).\n"
        f"Local datasets:\n  {listing}\n"
        f"To create or fetch it: {regenerate_command(dataset_id)}"
    )


def _corrupt(dataset_id: str, path: Path, why: str) -> DatasetCorruptError:
    return DatasetCorruptError(
        f"dataset {dataset_id!r} at {path} is corrupt or incomplete: {why}.\n"
        f"Delete {path} and regenerate it: {regenerate_command(dataset_id)}"
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_integrity(dataset_dir: Path) -> dict[str, Any]:
    """Record sizes and hashes of the data files once they are completely written."""
    data = dataset_dir / "data" / DATA_FILE
    meta = json.loads((dataset_dir / "data" / "metadata.json").read_text())
    record: dict[str, Any] = {
        "file": f"data/{DATA_FILE}", "size": data.stat().st_size, "sha256": sha256_file(data),
        "total_steps": int(meta["total_steps"]), "total_episodes": int(meta["total_episodes"])}
    flat = dataset_dir / FLAT_FILE
    if flat.is_file():
        record["flat"] = {"file": FLAT_FILE, "size": flat.stat().st_size,
                          "sha256": sha256_file(flat)}
    (dataset_dir / INTEGRITY_FILE).write_text(json.dumps(record, indent=1))
    return record


def read_metadata(dataset_dir: Path, dataset_id: str | None = None) -> dict[str, Any]:
    dataset_id = dataset_id or dataset_dir.name
    path = dataset_dir / "data" / "metadata.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as err:
        raise _corrupt(dataset_id, path, f"unreadable metadata ({err})") from err


def check_integrity(dataset_id: str, dataset_dir: Path, *, verify_hash: bool = False) -> None:
    """Cheap checks always (files exist, sizes match the record); the hash when asked."""
    meta = read_metadata(dataset_dir, dataset_id)
    if meta.get("data_format", "hdf5") != "hdf5":
        return
    data = dataset_dir / "data" / DATA_FILE
    if not data.is_file():
        raise _corrupt(dataset_id, data, "the data file is missing")
    record_path = dataset_dir / INTEGRITY_FILE
    if dataset_id.startswith(PROJECT_NAMESPACE + "/") and not record_path.is_file():
        raise _corrupt(dataset_id, dataset_dir, "no integrity record (generation did not finish)")
    if record_path.is_file():
        record = json.loads(record_path.read_text())
        size = data.stat().st_size
        if size != record["size"]:
            raise _corrupt(dataset_id, data, f"{size} bytes on disk, {record['size']} written")
        if verify_hash and sha256_file(data) != record["sha256"]:
            raise _corrupt(dataset_id, data, "the SHA-256 differs from the one recorded")
        if "flat" in record:
            flat = dataset_dir / record["flat"]["file"]
            if not flat.is_file() or flat.stat().st_size != record["flat"]["size"]:
                raise _corrupt(dataset_id, flat, "the flat copy is missing or has the wrong size")
            if verify_hash and sha256_file(flat) != record["flat"]["sha256"]:
                raise _corrupt(dataset_id, flat, "the SHA-256 differs from the one recorded")


def goal_keys_for(dataset_id: str) -> tuple[str, ...]:
    """The dict-observation keys that a dataset id is flattened with, in order:
    :data:`ANTMAZE_GOAL_KEYS` for AntMaze ids (a path part starting with ``antmaze``, e.g.
    ``D4RL/antmaze/large-play-v1``), else :data:`DEFAULT_GOAL_KEYS` (PointMaze's
    ``observation`` already holds the position, so its ``achieved_goal`` would repeat it)."""
    parts = dataset_id.split("/")[:-1]
    return ANTMAZE_GOAL_KEYS if any(p.startswith("antmaze") for p in parts) else DEFAULT_GOAL_KEYS


def observation_keys(available: Iterable[str], goal_keys: tuple[str, ...]) -> list[str]:
    """The keys of a dict observation that it is flattened with, in order: those of
    ``goal_keys`` it has, else all of its keys, sorted. The one rule shared by the dataset
    readers and the policy evaluator."""
    present = list(available)
    return [k for k in goal_keys if k in present] or sorted(present)


def flatten_observation(obs: Mapping[str, Any] | np.ndarray, goal_keys: tuple[str, ...], *,
                        batched: bool = False) -> np.ndarray:
    """An observation as a flat vector, the way :func:`load` flattens a dataset's states.

    A dict observation (goal-conditioned mazes) is the concatenation of its
    :func:`observation_keys` (nested dicts recursively); an array is only reshaped. With
    ``batched`` the leading axis is kept (one row per observation); without it ``obs`` is a
    single observation, as an environment returns it, and the result is one vector. Pass
    :func:`goal_keys_for` the dataset id as ``goal_keys`` to get the dataset's state layout.
    """
    if isinstance(obs, Mapping):
        keys = observation_keys(obs.keys(), goal_keys)
        return np.concatenate([flatten_observation(obs[k], goal_keys, batched=batched)
                               for k in keys], axis=-1)
    arr = np.asarray(obs)
    return arr.reshape(arr.shape[0], -1) if batched else arr.reshape(-1)


def _flatten_observation(group: h5py.Group | h5py.Dataset, goal_keys: tuple[str, ...]) -> np.ndarray:
    if isinstance(group, h5py.Dataset):
        arr = group[()]
        return arr.reshape(arr.shape[0], -1)
    parts = [_flatten_observation(group[k], goal_keys)
             for k in observation_keys(group.keys(), goal_keys)]
    return np.concatenate(parts, axis=1)


Flat = dict[str, np.ndarray]


def _check_flat(dataset_id: str, path: Path, flat: Flat, meta: dict[str, Any]) -> Flat:
    lengths = flat["lengths"]
    n = int(lengths.sum())
    ok = (len(lengths) == int(meta["total_episodes"]) and n == int(meta["total_steps"])
          and flat["observations"].shape[0] == n + len(lengths)
          and all(flat[k].shape[0] == n for k in ("actions", "rewards", "terminations",
                                                  "truncations")))
    if not ok:
        raise _corrupt(dataset_id, path, "array lengths disagree with the metadata "
                       f"({meta['total_episodes']} episodes, {meta['total_steps']} steps)")
    return flat


def read_flat_hdf5(dataset_id: str, dataset_dir: Path, meta: dict[str, Any],
                   goal_keys: tuple[str, ...] = DEFAULT_GOAL_KEYS) -> Flat:
    """Every episode of a Minari HDF5 file, concatenated (observations keep the final one)."""
    data = dataset_dir / "data" / DATA_FILE
    total = int(meta["total_episodes"])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in FLAT_KEYS}
    try:
        with h5py.File(data, "r") as f:
            if len(f.keys()) != total:
                raise _corrupt(dataset_id, data, f"{len(f.keys())} episodes, metadata says {total}")
            for i in range(total):
                g = f[f"episode_{i}"]
                obs = _flatten_observation(g["observations"], goal_keys).astype(np.float32)
                rew = np.asarray(g["rewards"][()], dtype=np.float32)
                parts["observations"].append(obs)
                parts["actions"].append(
                    np.asarray(g["actions"][()], dtype=np.float32).reshape(rew.shape[0], -1))
                parts["rewards"].append(rew)
                parts["terminations"].append(np.asarray(g["terminations"][()], dtype=bool))
                parts["truncations"].append(np.asarray(g["truncations"][()], dtype=bool))
                parts["lengths"].append(np.array([rew.shape[0]], dtype=np.int64))
    except DatasetCorruptError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as err:
        raise _corrupt(dataset_id, data, f"{type(err).__name__}: {err}") from err
    flat = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    return _check_flat(dataset_id, data, flat, meta)


def read_flat_cache(dataset_id: str, path: Path, meta: dict[str, Any]) -> Flat:
    try:
        with np.load(path) as z:
            flat = {k: z[k] for k in FLAT_KEYS}
    except (OSError, KeyError, ValueError, EOFError) as err:
        raise _corrupt(dataset_id, path, f"{type(err).__name__}: {err}") from err
    return _check_flat(dataset_id, path, flat, meta)


def _read_flat_generic(dataset_dir: Path, goal_keys: tuple[str, ...]) -> Flat:
    """Any storage format Minari supports (used for non-HDF5 datasets)."""
    import minari

    dataset = minari.MinariDataset(dataset_dir / "data")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in FLAT_KEYS}
    for ep in dataset.iterate_episodes():
        obs = flatten_observation(ep.observations, goal_keys, batched=True)
        n = len(ep.rewards)
        parts["observations"].append(np.asarray(obs, dtype=np.float32))
        parts["actions"].append(np.asarray(ep.actions, dtype=np.float32).reshape(n, -1))
        parts["rewards"].append(np.asarray(ep.rewards, dtype=np.float32))
        parts["terminations"].append(np.asarray(ep.terminations, dtype=bool))
        parts["truncations"].append(np.asarray(ep.truncations, dtype=bool))
        parts["lengths"].append(np.array([n], dtype=np.int64))
    return {k: np.concatenate(v) for k, v in parts.items()}


def flat_to_buffer(flat: Flat, metadata: dict[str, Any],
                   device: torch.device | str = "cpu") -> TransitionBuffer:
    lengths = flat["lengths"].astype(np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    # observation rows: episode k occupies [starts[k] + k, ends[k] + k] (one extra final row)
    offsets = np.repeat(np.arange(len(lengths)), lengths)
    state_rows = np.arange(int(ends[-1]) if len(ends) else 0) + offsets
    obs = flat["observations"]
    returns = np.add.reduceat(flat["rewards"].astype(np.float64), starts) if len(starts) else starts
    t = lambda a, dtype=torch.float32: torch.as_tensor(a, dtype=dtype, device=device)
    return TransitionBuffer(
        states=t(obs[state_rows]), actions=t(flat["actions"]), rewards=t(flat["rewards"]),
        next_states=t(obs[state_rows + 1]), terminals=t(flat["terminations"]),
        timeouts=t(flat["truncations"]), episode_starts=t(starts, torch.long),
        metadata={**metadata, "episode_returns": returns, "episode_lengths": lengths},
    )


def load(dataset_id: str, *, root: Path | str | None = None, download: bool = False,
         device: torch.device | str = "cpu", verify_hash: bool = False,
         goal_keys: tuple[str, ...] | None = None) -> TransitionBuffer:
    """Load a Minari dataset by id as flat transitions.

    Dict observations (goal-conditioned mazes) are flattened by concatenating ``goal_keys``
    in that order (default :func:`goal_keys_for` the id: the observation, then the goal; for
    AntMaze the ant's position first, then the observation and the goal). Datasets generated
    here carry a flat
    NumPy copy of the same arrays (Minari stores one HDF5 group per episode, slow to read
    for thousands of short episodes); it is covered by the same integrity record. ``metadata`` holds the id, env id,
    reference scores (``None`` when absent), per-episode returns and lengths, and the path.
    """
    goal_keys = goal_keys if goal_keys is not None else goal_keys_for(dataset_id)
    dataset_dir = find_dataset(dataset_id, root)
    if dataset_dir is None:
        if not download:
            raise _not_found(dataset_id, root)
        dataset_dir = _download(dataset_id)
    check_integrity(dataset_id, dataset_dir, verify_hash=verify_hash)
    meta = read_metadata(dataset_dir, dataset_id)
    if (dataset_dir / FLAT_FILE).is_file() and goal_keys == DEFAULT_GOAL_KEYS:
        flat = read_flat_cache(dataset_id, dataset_dir / FLAT_FILE, meta)
    elif meta.get("data_format", "hdf5") == "hdf5":
        flat = read_flat_hdf5(dataset_id, dataset_dir, meta, goal_keys)
    else:
        flat = _read_flat_generic(dataset_dir, goal_keys)
    env_spec = json.loads(meta["env_spec"]) if isinstance(meta.get("env_spec"), str) else {}
    info = {
        "dataset_id": dataset_id, "env_id": env_spec.get("id"),
        "max_episode_steps": env_spec.get("max_episode_steps"), "path": str(dataset_dir),
        "ref_min_score": meta.get("ref_min_score"), "ref_max_score": meta.get("ref_max_score"),
        "algorithm_name": meta.get("algorithm_name"), "description": meta.get("description"),
        "total_episodes": int(meta["total_episodes"]),
    }
    return flat_to_buffer(flat, info, device)


def _download(dataset_id: str) -> Path:
    import huggingface_hub.constants as hf_constants
    import minari

    previous = hf_constants.HF_HUB_OFFLINE
    hf_constants.HF_HUB_OFFLINE = False
    try:
        minari.download_dataset(dataset_id)
    finally:
        hf_constants.HF_HUB_OFFLINE = previous
    path = user_minari_root() / dataset_id
    if not (path / "data").is_dir():
        raise DatasetNotFoundError(f"download of {dataset_id!r} did not produce {path}")
    return path


def reference_scores(source: TransitionBuffer | dict[str, Any]) -> tuple[float, float]:
    meta = source.metadata if isinstance(source, TransitionBuffer) else source
    lo, hi = meta.get("ref_min_score"), meta.get("ref_max_score")
    if lo is None or hi is None:
        raise MissingReferenceScoresError(
            f"dataset {meta.get('dataset_id', '?')!r} has no reference scores "
            f"(ref_min_score={lo}, ref_max_score={hi}); a normalized score cannot be computed")
    if float(hi) == float(lo):
        raise MissingReferenceScoresError(
            f"dataset {meta.get('dataset_id', '?')!r} has equal reference scores ({lo})")
    return float(lo), float(hi)


def normalized_score(returns: float | np.ndarray | list[float],
                     source: TransitionBuffer | dict[str, Any]) -> np.ndarray:
    """``100 · (return − ref_min) / (ref_max − ref_min)`` with the dataset's reference scores."""
    lo, hi = reference_scores(source)
    return 100.0 * (np.asarray(returns, dtype=np.float64) - lo) / (hi - lo)


def subset_indices(dataset_id: str, size: int, fraction: float, seed: int = 0) -> np.ndarray:
    """Sorted indices of a random ``fraction`` of ``size`` transitions.

    The stream depends only on (dataset id, fraction, seed) through SHA-256 and PCG64's
    uniform doubles (both stable across platforms and NumPy versions), never on global state.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    keep = max(1, round(fraction * size))
    key = hashlib.sha256(f"{dataset_id}|{fraction!r}|{seed}".encode()).digest()
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(key[:16], "little")))
    order = np.argsort(rng.random(size), kind="stable")
    return np.sort(order[:keep])


def subset(buffer: TransitionBuffer, fraction: float, seed: int = 0) -> TransitionBuffer:
    """An X% subset of transitions (not episodes), the same for every algorithm and machine."""
    if fraction == 1.0:  # the whole dataset, as it is
        return buffer
    dataset_id = str(buffer.metadata.get("dataset_id", ""))
    if not dataset_id:
        raise ValueError("the buffer has no dataset_id in its metadata; subsets are keyed by it")
    idx = subset_indices(dataset_id, len(buffer), fraction, seed)
    out = buffer.select(torch.as_tensor(idx, dtype=torch.long))
    out.metadata.update({"subset_fraction": fraction, "subset_seed": seed,
                         "subset_indices": idx})
    return out
