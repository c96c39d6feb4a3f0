"""Committed results: a claim's finished runs as compact tidy tables with provenance.

Layout (``<project>/data/results``, or ``$SEEMREPRO_RESULTS``)::

    <CLAIM>/<profile>/runs.json        one entry per run: its key, variant, key record (config,
                                       code version, data fingerprint), diverged_at, wall
                                       seconds, date, torch, device and commit
    <CLAIM>/<profile>/metrics.csv.gz   tidy rows: key, step, seed, metric, value
    <CLAIM>/<profile>/replicas.json.gz (optional) runs trained again on another kind of CPU or
                                       device: key, that platform, its summary and its rows

No checkpoints or snapshots. A committed run stands in for training only while its key is the
key the current code gives its config (:meth:`seemrepro.engine.RunStore.key`: config, code
version, data fingerprint); a change that alters numbers therefore never reads old results.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seemrepro.engine.config import RunConfig, RunResult
from seemrepro.engine.store import RunStore
from seemrepro.experiments.claims import get_claim, runs_owner
from seemrepro.experiments.spec import Claim
from seemrepro.runtime import atomic_write, check_profile, git_commit, project_root

RUNS_FILE, METRICS_FILE, REPLICAS_FILE = "runs.json", "metrics.csv.gz", "replicas.json.gz"


def results_root(root: Path | str | None = None) -> Path:
    if root is not None:
        return Path(root)
    env = os.environ.get("SEEMREPRO_RESULTS")
    return Path(env) if env else project_root() / "data" / "results"


def results_dir(claim_id: str | Claim, profile: str, root: Path | str | None = None) -> Path:
    """Where the claim's committed runs live: under the claim that owns its grid."""
    return results_root(root) / runs_owner(claim_id).id / check_profile(profile)


class CorruptResultsError(ValueError):
    """A committed results folder that cannot be read back."""


def _recorded_result(config: RunConfig, rows: list[tuple[int, int, str, float]],
                     summary: dict[str, Any]) -> RunResult:
    """A run as a record holds it: its rows, divergence step and wall time."""
    return RunResult(config, list(rows), summary.get("diverged_at"),
                     float(summary.get("seconds", 0.0)), cached=True)


@dataclass
class CommittedRun:
    key: str
    variant: str
    record: dict[str, Any]
    summary: dict[str, Any]
    rows: list[tuple[int, int, str, float]]

    @property
    def config(self) -> RunConfig:
        return RunConfig.from_dict(self.record)

    def result(self) -> RunResult:
        return _recorded_result(self.config, self.rows, self.summary)


@dataclass
class Replica:
    """A committed run trained again, from the same config and code, on another platform
    (:func:`seemrepro.runtime.exact_platform`). Float32 kernels round differently across CPU
    kinds, so a run is re-verified bit for bit only where it was computed; a replica makes it
    verifiable on one more kind of machine."""

    key: str
    platform: str
    summary: dict[str, Any]
    rows: list[tuple[int, int, str, float]]

    def result(self, config: RunConfig) -> RunResult:
        return _recorded_result(config, self.rows, self.summary)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "platform": self.platform, "summary": self.summary,
                "rows": [list(row) for row in sorted(self.rows)]}


def _gzip_bytes(text: str) -> bytes:
    """gzip without a timestamp: equal contents give equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as f:
        f.write(text.encode())
    return buffer.getvalue()


def _read_replicas(d: Path) -> dict[tuple[str, str], Replica]:
    if not (d / REPLICAS_FILE).exists():
        return {}
    with gzip.open(d / REPLICAS_FILE, "rt") as f:
        entries = json.load(f)["replicas"]
    replicas = [Replica(e["key"], e["platform"], e["summary"],
                        [(int(s), int(seed), str(m), float(v)) for s, seed, m, v in e["rows"]])
                for e in entries]
    return {(r.key, r.platform): r for r in replicas}


def _write_replicas(d: Path, replicas: dict[tuple[str, str], Replica]) -> None:
    if not replicas:
        (d / REPLICAS_FILE).unlink(missing_ok=True)
        return
    entries = [replicas[k].to_dict() for k in sorted(replicas)]
    atomic_write(d / REPLICAS_FILE, _gzip_bytes(json.dumps({"replicas": entries}, indent=0,
                                                           sort_keys=True) + "\n"))


@dataclass
class CommittedResults:
    """The committed runs of one claim at one profile, and replicas of some of them keyed by
    (run key, platform)."""

    claim: str
    profile: str
    exported: str
    total_runs: int
    runs: dict[str, CommittedRun]
    replicas: dict[tuple[str, str], Replica] = field(default_factory=dict)

    @classmethod
    def load(cls, claim_id: str | Claim, profile: str,
             root: Path | str | None = None) -> CommittedResults | None:
        """The committed results, or None when there are none (an error when they are corrupt)."""
        d = results_dir(claim_id, profile, root)
        if not (d / RUNS_FILE).exists():
            return None
        try:
            meta = json.loads((d / RUNS_FILE).read_text())
            rows: dict[str, list[tuple[int, int, str, float]]] = {}
            with gzip.open(d / METRICS_FILE, "rt", newline="") as f:
                reader = csv.reader(f)
                if next(reader) != ["key", *ROW_HEADER]:
                    raise ValueError("unexpected header")
                for key, step, seed, metric, value in reader:
                    rows.setdefault(key, []).append((int(step), int(seed), metric, float(value)))
            runs = {r["key"]: CommittedRun(r["key"], r["variant"], r["record"], r["summary"],
                                           rows.get(r["key"], [])) for r in meta["runs"]}
            replicas = {k: r for k, r in _read_replicas(d).items() if r.key in runs}
        except (OSError, ValueError, KeyError, TypeError, EOFError,
                gzip.BadGzipFile) as error:
            raise CorruptResultsError(f"committed results in {d} cannot be read ({error}); "
                                      f"export them again with `seemrepro results export "
                                      f"{get_claim(claim_id).id} --profile {profile}`") \
                from error
        return cls(meta["claim"], meta["profile"], meta["exported"], meta["total_runs"], runs,
                   replicas)

    def provenance(self, keys: Collection[str] | None = None) -> list[tuple[str, str, int]]:
        """(commit, device, number of runs) for each place these runs (or those of ``keys``)
        were computed."""
        counts: dict[tuple[str, str], int] = {}
        for run in self.runs.values():
            if keys is not None and run.key not in keys:
                continue
            where = (run.summary.get("commit") or "unknown", run.summary.get("device") or "unknown")
            counts[where] = counts.get(where, 0) + 1
        return [(c, d, n) for (c, d), n in sorted(counts.items())]

    def core_hours(self, keys: Collection[str] | None = None) -> float:
        """CPU-core (or device) hours these runs (or those of ``keys``) took to train: each
        run's share of its group's wall time times the threads it ran on."""
        return sum(float(run.summary.get("seconds", 0.0)) * int(run.summary.get("threads", 1))
                   for run in self.runs.values() if keys is None or run.key in keys) / 3600


ROW_HEADER = ["step", "seed", "metric", "value"]


def export_results(claim_id: str | Claim, profile: str, *, store: RunStore | None = None,
                   root: Path | str | None = None) -> tuple[Path, int, int]:
    """Write the claim's finished runs at ``profile`` from ``store`` into the results folder.

    Returns (folder, runs exported, runs in the grid). Runs of the grid not yet finished are
    left out (the claims table then reads "partly computed"). Runs already committed for the
    current grid and absent from ``store`` are kept, so a grid computed over several machines
    or sittings, each with a fresh run store, accumulates; committed runs the grid no longer
    declares are dropped. Files are written atomically; the metrics table is gzip without a
    timestamp, so equal runs give equal bytes. A claim that shares another's grid exports that
    claim's runs.
    """
    claim = runs_owner(claim_id)
    grid = claim.runs(profile)
    store = store or RunStore()
    variants = grid.variant_of()
    out = results_dir(claim, profile, root)
    earlier = CommittedResults.load(claim, profile, root)
    entries, lines = [], io.StringIO()
    writer = csv.writer(lines)
    writer.writerow(["key", *ROW_HEADER])
    for config in grid.configs():
        key = store.key(config)
        result = store.load(config)
        if result is not None:
            d = store.run_dir(config)
            summary = json.loads((d / "summary.json").read_text())
            record = json.loads((d / "config.json").read_text())
            rows = result.rows
        elif earlier is not None and key in earlier.runs:
            kept = earlier.runs[key]
            summary, record, rows = kept.summary, kept.record, kept.rows
        else:
            continue
        entries.append({"key": key, "variant": variants[repr(config.resolved())],
                        "record": record, "summary": summary})
        writer.writerows((key, s, seed, m, repr(float(v))) for s, seed, m, v in rows)
    if not entries:
        raise ValueError(f"no finished run of claim {claim.id} at profile {profile} in "
                         f"{store.root}; run `seemrepro reproduce {claim.id} --profile {profile}`")
    meta = {"claim": claim.id, "profile": profile, "total_runs": len(grid),
            "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "exported_at_commit": git_commit(), "runs": entries}
    atomic_write(out / METRICS_FILE, _gzip_bytes(lines.getvalue()))
    atomic_write(out / RUNS_FILE, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    if earlier is not None:  # replicas of runs no longer exported are dropped
        exported = {e["key"] for e in entries}
        _write_replicas(out, {k: r for k, r in earlier.replicas.items() if r.key in exported})
    return out, len(entries), len(grid)


def save_replicas(claim_id: str | Claim, profile: str, replicas: Collection[Replica],
                  root: Path | str | None = None) -> Path:
    """Add ``replicas`` to the claim's committed results (one per run key and platform: a new
    one replaces the old). Each must replicate a committed run."""
    committed = CommittedResults.load(claim_id, profile, root)
    if committed is None:
        raise ValueError(f"claim {get_claim(claim_id).id} has no committed {profile} results")
    merged = dict(committed.replicas)
    for replica in replicas:
        if replica.key not in committed.runs:
            raise ValueError(f"run {replica.key} is not among the committed {profile} runs of "
                             f"{committed.claim}")
        merged[(replica.key, replica.platform)] = replica
    out = results_dir(claim_id, profile, root)
    _write_replicas(out, merged)
    return out
