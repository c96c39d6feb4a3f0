"""SLURM (or any submitit cluster) execution of a grid: one array task per batched group.

Every task trains its group into the shared run store with :func:`seemrepro.engine.loop.
train_runs`, so a task that is killed or times out leaves its last checkpoint in the store and
the same group submitted again resumes from it; runs already finished are skipped. submitit is
an optional dependency (``pip install submitit``); ``cluster="local"`` runs the tasks as local
subprocesses, which is how the tests exercise this path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seemrepro.engine.config import RunConfig
from seemrepro.engine.store import RunStore


@dataclass(frozen=True)
class ClusterOptions:
    """Job parameters. ``partition``, ``account`` and ``qos`` apply to SLURM only."""

    partition: str | None = None
    gpus: int = 0
    time_min: int = 60
    cpus: int = 2
    mem_gb: float | None = None
    parallelism: int = 64  # array tasks running at once
    account: str | None = None
    qos: str | None = None
    cluster: str = "slurm"  # or "local" (subprocesses on this machine), "debug" (in-process)
    folder: Path | None = None  # submitit's logs and pickles; default <store>/_submitit
    threads: int | None = None  # torch threads per task; default: the task's CPUs


def _submitit() -> Any:
    try:
        import submitit
    except ImportError as error:
        raise ImportError("the slurm executor needs submitit: pip install submitit") from error
    return submitit


def run_group(configs: list[dict[str, Any]], store_root: str, threads: int) -> list[str]:
    """One array task: train a batched group into the store; returns the runs' keys."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from seemrepro.engine.loop import train_runs

    runs = [RunConfig.from_dict(c) for c in configs]
    store = RunStore(store_root)
    train_runs(runs, store=store, progress=False, threads=threads, max_group=len(runs))
    return [store.key(c) for c in runs]


def submit_groups(groups: Sequence[Sequence[RunConfig]], store: RunStore,
                  options: ClusterOptions) -> list[Any]:
    """Submit one array task per group; returns submitit's jobs (``job.result()`` waits)."""
    if not groups:
        return []
    submitit = _submitit()
    folder = options.folder or store.root / "_submitit"
    try:
        executor = submitit.AutoExecutor(folder=str(folder), cluster=options.cluster)
    except RuntimeError as error:  # e.g. no srun/sbatch on this machine
        raise ValueError(f"cannot submit to cluster {options.cluster!r}: {error} (run on a "
                         f"SLURM login node, or train here with --executor local)") from error
    parameters: dict[str, Any] = {
        "timeout_min": options.time_min, "cpus_per_task": options.cpus,
        "gpus_per_node": options.gpus, "name": "seemrepro",
        "slurm_array_parallelism": options.parallelism}
    if options.mem_gb is not None:
        parameters["mem_gb"] = options.mem_gb
    for name in ("partition", "account", "qos"):
        if getattr(options, name) is not None:
            parameters[f"slurm_{name}"] = getattr(options, name)
    executor.update_parameters(**parameters)
    threads = options.threads or options.cpus
    payload = [[c.to_dict() for c in group] for group in groups]
    return list(executor.map_array(run_group, payload, [str(store.root)] * len(groups),
                                   [threads] * len(groups)))
