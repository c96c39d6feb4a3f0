"""The submitit path for real: jobs on submitit's local executor (subprocesses, no mocks) train
into a shared run store, and a job killed hard resumes from its checkpoint when resubmitted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seemrepro.engine import MonitorConfig, RunConfig, RunStore
from seemrepro.engine.config import RunResult
from seemrepro.engine.loop import train_runs
from seemrepro.experiments.cluster import ClusterOptions, submit_groups

SMALL = {"critic": {"hidden": [32, 32]}, "actor_hidden": [32, 32]}


def config(norm: str, seed: int, steps: int, checkpoint_every: int) -> RunConfig:
    monitors = MonitorConfig(q_every=50, seem_every=100, seem_samples=64,
                             checkpoint_every=checkpoint_every)
    return RunConfig("td3", "synthetic/2000", seed=seed, steps=steps, batch_size=32,
                     agent={**SMALL, "critic": {"hidden": [32, 32], "norm": norm}},
                     monitors=monitors)


def options(tmp_path: Path) -> ClusterOptions:
    # one CPU, hence one torch thread per task, as the in-process references below
    return ClusterOptions(cluster="local", folder=tmp_path / "submitit", cpus=1, time_min=5)


def in_process(group: Sequence[RunConfig]) -> list[RunResult]:
    """The group trained here as one batched model, as a task trains it, without a store."""
    return train_runs(group, store=None, progress=False, threads=1, max_group=len(group))


def assert_same_rows(stored: RunResult, reference: RunResult) -> None:
    assert [r[:3] for r in stored.rows] == [r[:3] for r in reference.rows]
    np.testing.assert_allclose([r[3] for r in stored.rows], [r[3] for r in reference.rows],
                               rtol=1e-5, atol=1e-6)


# -- the processes of a local job -----------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, of every process (Linux /proc, else ``ps``)."""
    pairs: list[tuple[int, int]] = []
    if Path("/proc/self/stat").exists():
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # ended meanwhile
                continue
            pairs.append((int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])))
    else:
        out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True,
                             check=True).stdout
        pairs = [(int(p), int(q)) for p, q in (line.split() for line in out.splitlines())]
    children: dict[int, list[int]] = {}
    for pid, ppid in pairs:
        children.setdefault(ppid, []).append(pid)
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants. A local job is a controller process whose child runs
    the task: killing the controller alone would leave the task training on."""
    children, tree, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie does not)."""
    if Path("/proc/self/stat").exists():
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:  # reaped
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_hard(job: Any, *, with_task: bool = True) -> None:
    """SIGKILL a local job's controller and its task at once, as a node failure would."""
    process = job._process
    tree = process_tree(process.pid)
    assert len(tree) >= 2 or not with_task, "the job's task process was not found"
    process.kill()
    for pid in tree[1:]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(running(pid) for pid in tree[1:]):
        assert time.monotonic() < deadline, "the killed task is still running"
        time.sleep(0.05)


@pytest.fixture
def jobs() -> Iterator[list[Any]]:
    """Jobs submitted by a test; any still running at its end (a failed test) are killed."""
    submitted: list[Any] = []
    yield submitted
    for job in submitted:
        process = getattr(job, "_process", None)
        if process is not None and process.poll() is None:
            kill_hard(job, with_task=False)


# -- tests ----------------------------------------------------------------------------------------
def test_no_groups_submit_nothing(tmp_path: Path) -> None:
    assert submit_groups([], RunStore(tmp_path / "runs"), options(tmp_path)) == []


def test_local_jobs_train_groups_into_the_store_as_in_process(tmp_path: Path,
                                                              jobs: list[Any]) -> None:
    groups = [[config(norm, seed, steps=300, checkpoint_every=100) for seed in (0, 1)]
              for norm in ("none", "layernorm")]
    store = RunStore(tmp_path / "runs")
    jobs.extend(submit_groups(groups, store, options(tmp_path)))
    assert len(jobs) == 2
    references = [in_process(group) for group in groups]  # meanwhile, here
    for job, group, reference in zip(jobs, groups, references, strict=True):
        keys = job.result()  # raises if the task failed, with its traceback
        assert keys == [store.key(c) for c in group]
        for c, expected in zip(group, reference, strict=True):
            assert store.is_done(c.resolved())
            stored = store.load(c.resolved())
            assert stored is not None and stored.diverged_at is None
            assert {m for _, _, m, _ in stored.rows} >= {"q_data", "seem"}
            assert_same_rows(stored, expected)
    assert not list((store.root / "td3" / "_checkpoints").glob("*.pt"))


def test_a_killed_job_resumes_from_its_checkpoint_when_resubmitted(tmp_path: Path,
                                                                   jobs: list[Any]) -> None:
    group = [config("layernorm", seed, steps=2000, checkpoint_every=50) for seed in (0, 1)]
    store = RunStore(tmp_path / "runs")
    checkpoints = store.root / "td3" / "_checkpoints"
    (first,) = submit_groups([group], store, options(tmp_path))
    jobs.append(first)
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob("*.pt")):
        assert first._process.poll() is None, f"the job ended early:\n{first.stderr()}"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    kill_hard(first)
    (checkpoint,) = checkpoints.glob("*.pt")
    assert not any(store.is_done(c.resolved()) for c in group)

    (second,) = submit_groups([group], store, options(tmp_path))
    jobs.append(second)
    reference = in_process(group)  # uninterrupted, meanwhile
    assert second.result() == [store.key(c) for c in group]
    log = second.stderr() or ""
    match = re.search(r"resumes from its checkpoint at step (\d+)", log)
    assert match is not None, log
    step = int(match.group(1))
    assert 0 < step < 2000 and step % 50 == 0
    assert not checkpoint.exists()
    for c, expected in zip(group, reference, strict=True):
        assert store.is_done(c.resolved())
        stored = store.load(c.resolved())
        assert stored is not None
        assert_same_rows(stored, expected)
