"""Cached, resumable runs keyed by their complete config.

Layout under the root (default ``<project>/runs``, or ``$SEEMREPRO_RUNS``)::

    <algorithm>/<key>/config.json     the resolved RunConfig (seed and subset included)
    <algorithm>/<key>/metrics.csv     tidy rows: step, seed, metric, value
    <algorithm>/<key>/summary.json    diverged_at, seconds; written last: marks the run done
    <algorithm>/<key>/snapshots.pt    parameter snapshots (when monitored)
    <algorithm>/_checkpoints/<group>.pt   the in-progress state of a (batched) group of seeds

Every file is written to a temporary name and renamed, so a killed process never leaves a
half-written file behind; a run without ``summary.json`` is not done and is trained again
from its group's last checkpoint.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from seemrepro.runtime import project_root

if TYPE_CHECKING:
    from seemrepro.training import RunConfig, RunResult


def config_key(config: dict[str, Any]) -> str:
    """A run's key in the store: a short SHA-256 of its complete config as sorted JSON."""
    text = json.dumps(config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunStore:
    def __init__(self, root: Path | str | None = None) -> None:
        env = os.environ.get("SEEMREPRO_RUNS")
        self.root = Path(root) if root is not None else Path(env) if env else project_root() / "runs"

    def run_dir(self, config: RunConfig) -> Path:
        return self.root / config.algorithm / config.key()

    def is_done(self, config: RunConfig) -> bool:
        return (self.run_dir(config) / "summary.json").exists()

    def save(self, config: RunConfig, result: RunResult,
             snapshots: dict[int, dict[str, torch.Tensor]] | None = None) -> None:
        d = self.run_dir(config)
        atomic_write(d / "config.json", json.dumps(config.to_dict(), indent=1).encode())
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["step", "seed", "metric", "value"])
        writer.writerows((s, seed, m, repr(float(v))) for s, seed, m, v in result.rows)
        atomic_write(d / "metrics.csv", text.getvalue().encode())
        if snapshots:
            buf = io.BytesIO()
            torch.save(snapshots, buf)
            atomic_write(d / "snapshots.pt", buf.getvalue())
        summary = {"diverged_at": result.diverged_at, "seconds": result.seconds}
        atomic_write(d / "summary.json", json.dumps(summary).encode())

    def load(self, config: RunConfig) -> RunResult | None:
        from seemrepro.training import RunResult

        d = self.run_dir(config)
        if not (d / "summary.json").exists():
            return None
        summary = json.loads((d / "summary.json").read_text())
        with open(d / "metrics.csv", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            rows = [(int(s), int(seed), m, float(v)) for s, seed, m, v in reader]
        return RunResult(config, rows, summary["diverged_at"], summary["seconds"])

    def snapshots(self, config: RunConfig) -> dict[int, dict[str, torch.Tensor]]:
        path = self.run_dir(config) / "snapshots.pt"
        return torch.load(path, weights_only=True) if path.exists() else {}

    def _checkpoint_path(self, algorithm: str, group: str) -> Path:
        return self.root / algorithm / "_checkpoints" / f"{group}.pt"

    def save_checkpoint(self, algorithm: str, group: str, state: dict[str, Any]) -> None:
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write(self._checkpoint_path(algorithm, group), buf.getvalue())

    def load_checkpoint(self, algorithm: str, group: str) -> dict[str, Any] | None:
        path = self._checkpoint_path(algorithm, group)
        if not path.exists():
            return None
        return torch.load(path, weights_only=False)  # our own file: holds generators, buffers

    def drop_checkpoint(self, algorithm: str, group: str) -> None:
        self._checkpoint_path(algorithm, group).unlink(missing_ok=True)
