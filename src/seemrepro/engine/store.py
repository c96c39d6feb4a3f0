"""The run store: finished runs keyed by everything their numbers depend on, resumable
checkpoints of unfinished ones, and tidy results for pandas.

A run's key is a short SHA-256 of its *key record*: the resolved :class:`RunConfig` (less the
fields that never change its numbers, such as the checkpoint interval), the code version and
the dataset's fingerprint (:mod:`seemrepro.engine.versions`). A change to an update rule or a
regenerated dataset therefore never reuses old runs; ``seemrepro runs status`` lists those
as stale.

Layout under the root (default ``<project>/runs``, or ``$SEEMREPRO_RUNS``)::

    <algorithm>/<key>/config.json     the key record (config, code_version, data_fingerprint)
    <algorithm>/<key>/metrics.csv     tidy rows: step, seed, metric, value
    <algorithm>/<key>/snapshots.pt    parameter snapshots (when monitored)
    <algorithm>/<key>/summary.json    diverged_at, seconds, finished, torch, device, commit,
                                      threads, group (keys trained as one batch); written
                                      last, it marks the run done
    <algorithm>/_checkpoints/<group>.pt   the in-progress state of a (batched) group of seeds

Every file is written atomically (:func:`seemrepro.runtime.atomic_write`); a run without
``summary.json`` is trained again from its group's last checkpoint. Checkpoints hold only
tensors and plain values and load with ``torch.load(weights_only=True)``, so a store shared on
a cluster filesystem never unpickles arbitrary objects.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seemrepro.engine.config import ROW_COLUMNS, RunConfig, RunResult
from seemrepro.engine.versions import code_version, data_fingerprint
from seemrepro.runtime import atomic_write, load_state, project_root, save_state

CHECKPOINTS = "_checkpoints"


def config_key(record: dict[str, Any]) -> str:
    """A short SHA-256 of a record as sorted JSON: the key of a run in the store."""
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def key_record(config: RunConfig) -> dict[str, Any]:
    """What a run's key hashes: its config, the code version and the data's fingerprint."""
    return {**config.key_dict(), "code_version": code_version(config.algorithm),
            "data_fingerprint": data_fingerprint(config.dataset)}


@dataclass
class StoredRun:
    """One run folder of the store, with what it was computed from and its status."""

    path: Path
    record: dict[str, Any]
    summary: dict[str, Any] | None
    status: str  # done, stale-code, stale-data, unfinished

    @property
    def key(self) -> str:
        return self.path.name

    @property
    def config(self) -> RunConfig:
        return RunConfig.from_dict(self.record)


class RunStore:
    def __init__(self, root: Path | str | None = None) -> None:
        env = os.environ.get("SEEMREPRO_RUNS")
        self.root = Path(root) if root is not None else Path(env) if env else project_root() / "runs"

    # -- finished runs ------------------------------------------------------------------------
    def key(self, config: RunConfig) -> str:
        return config_key(key_record(config))

    def run_dir(self, config: RunConfig) -> Path:
        return self.root / config.algorithm / self.key(config)

    def is_done(self, config: RunConfig) -> bool:
        return (self.run_dir(config) / "summary.json").exists()

    def save(self, config: RunConfig, result: RunResult,
             snapshots: dict[int, dict[str, torch.Tensor]] | None = None, *,
             device: str = "", commit: str = "", threads: int = 0,
             group: list[str] | None = None, platform: str = "",
             exact_platform: str = "") -> None:
        """Store a finished run. ``device``, ``commit``, ``threads``, ``platform``
        (:func:`seemrepro.runtime.run_platform`) and ``exact_platform`` (the same down to the CPU
        model, :func:`seemrepro.runtime.exact_platform`) describe where it was computed; ``group`` lists
        the keys of the runs it trained with as one batched model (float sums depend on both, so re-checking a run retrains the same group)."""
        record = key_record(config)
        d = self.root / config.algorithm / config_key(record)
        atomic_write(d / "config.json", json.dumps(record, indent=1))
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(ROW_COLUMNS)
        writer.writerows((s, seed, m, repr(float(v))) for s, seed, m, v in result.rows)
        atomic_write(d / "metrics.csv", text.getvalue())
        if snapshots:
            buf = io.BytesIO()
            torch.save(snapshots, buf)
            atomic_write(d / "snapshots.pt", buf.getvalue())
        summary = {"diverged_at": result.diverged_at, "seconds": result.seconds,
                   "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   "torch": torch.__version__, "device": device, "commit": commit,
                   "threads": threads, "group": group or [self.key(config)]}
        if platform:
            summary["platform"] = platform
        if exact_platform:
            summary["exact_platform"] = exact_platform
        atomic_write(d / "summary.json", json.dumps(summary))

    def load(self, config: RunConfig) -> RunResult | None:
        d = self.run_dir(config)
        if not (d / "summary.json").exists():
            return None
        summary = json.loads((d / "summary.json").read_text())
        return RunResult(config, read_rows(d / "metrics.csv"), summary["diverged_at"],
                         summary["seconds"])

    def snapshots(self, config: RunConfig) -> dict[int, dict[str, torch.Tensor]]:
        path = self.run_dir(config) / "snapshots.pt"
        return torch.load(path, weights_only=True) if path.exists() else {}

    # -- checkpoints ---------------------------------------------------------------------------
    def _checkpoint_path(self, algorithm: str, group: str) -> Path:
        return self.root / algorithm / CHECKPOINTS / f"{group}.pt"

    def save_checkpoint(self, algorithm: str, group: str, state: dict[str, Any]) -> None:
        save_state(self._checkpoint_path(algorithm, group), state)

    def load_checkpoint(self, algorithm: str, group: str) -> dict[str, Any] | None:
        path = self._checkpoint_path(algorithm, group)
        return load_state(path) if path.exists() else None

    def drop_checkpoint(self, algorithm: str, group: str) -> None:
        self._checkpoint_path(algorithm, group).unlink(missing_ok=True)

    # -- listing -------------------------------------------------------------------------------
    def runs(self, *, check_data: bool = True) -> Iterator[StoredRun]:
        """Every run folder under the root (the d3rlpy peer's folder aside), with its status:
        ``done``; ``stale-code`` when it was computed by another code version; ``stale-data``
        when its dataset's contents changed since (checked when ``check_data`` and the
        dataset can be loaded here); ``unfinished`` without a summary."""
        fingerprints: dict[str, str | None] = {}

        def current(dataset: str) -> str | None:
            if dataset not in fingerprints:
                try:
                    fingerprints[dataset] = data_fingerprint(dataset)
                except (ValueError, OSError):  # the dataset is not available here
                    fingerprints[dataset] = None
            return fingerprints[dataset]

        if not self.root.is_dir():
            return
        for config_path in sorted(self.root.glob("*/*/config.json")):
            d = config_path.parent
            if d.parent.name == "d3rlpy" or d.name == CHECKPOINTS:
                continue
            record = json.loads(config_path.read_text())
            if "code_version" not in record:
                status = "stale-code"  # written before runs carried a code version
            elif not (d / "summary.json").exists():
                status = "unfinished"
            elif record["code_version"] != _code_version_or_none(record.get("algorithm", "")):
                status = "stale-code"
            elif check_data and current(record["dataset"]) not in (
                    None, record["data_fingerprint"]):
                status = "stale-data"
            else:
                status = "done"
            summary_path = d / "summary.json"
            summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
            yield StoredRun(d, record, summary, status)


def _code_version_or_none(algorithm: str) -> str | None:
    try:
        return code_version(algorithm)
    except ValueError:  # an algorithm this code no longer has
        return None


def read_rows(path: Path) -> list[tuple[int, int, str, float]]:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [(int(s), int(seed), m, float(v)) for s, seed, m, v in reader]


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"agent": {"critic": {"norm": "layernorm"}}}`` → ``{"agent.critic.norm": "layernorm"}``;
    lists become tuples (hashable, so they group in pandas)."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, name + "."))
        else:
            out[name] = tuple(v) if isinstance(v, list) else v
    return out


def matches_filters(flat: dict[str, Any], filters: dict[str, Any]) -> bool:
    """Whether a flattened run record has every filtered column at a wanted value (a set
    means "any of"; lists compare as tuples)."""
    for key, wanted in filters.items():
        if key not in flat:
            return False
        value = flat[key]
        options = wanted if isinstance(wanted, set | frozenset) else {
            tuple(wanted) if isinstance(wanted, list) else wanted}
        if value not in options:
            return False
    return True


def load_frame(root: Path | str | None = None, *, include_stale: bool = False,
               metrics: str | list[str] | None = None, **filters: Any) -> Any:
    """Every finished run's tidy metrics as one pandas DataFrame, ready for seaborn.

    Columns: ``step, seed, metric, value``, then the run's flattened config (``algorithm``,
    ``dataset``, ``subset``, ``agent.critic.norm``, ``monitors.seem_every``, …),
    ``code_version``, ``data_fingerprint``, ``diverged_at``, ``status`` and ``key``. Keyword
    filters select runs by a column, with ``__`` standing for ``.``
    (``agent__critic__norm="layernorm"``); a set value means "any of". ``metrics`` keeps only
    those metrics. Stale runs are left out unless ``include_stale``.
    """
    import pandas as pd

    wanted = {k.replace("__", "."): v for k, v in filters.items()}
    keep = {metrics} if isinstance(metrics, str) else set(metrics) if metrics else None
    frames = []
    columns: set[str] = set()
    for run in RunStore(root).runs():  # data checked even with include_stale: "status" is true
        if run.summary is None or (run.status != "done" and not include_stale):
            continue
        flat = {**flatten(run.record), "diverged_at": run.summary.get("diverged_at"),
                "status": run.status, "key": run.key}
        columns.update(flat)
        if not matches_filters(flat, wanted):
            continue
        frame = pd.DataFrame(read_rows(run.path / "metrics.csv"), columns=list(ROW_COLUMNS))
        if keep is not None:
            frame = frame[frame.metric.isin(keep)]
        for column, value in flat.items():
            if column != "seed":
                frame[column] = [value] * len(frame)
        frames.append(frame)
    unknown = sorted(set(wanted) - columns) if columns else []
    if unknown:
        raise ValueError(f"unknown filter(s) {unknown}; columns include "
                         f"{', '.join(sorted(columns))}")
    if not frames:
        return pd.DataFrame(columns=list(ROW_COLUMNS))
    return pd.concat(frames, ignore_index=True)
