"""Running a claim's grid: in a chapter, from the command line, or as SLURM jobs.

* :func:`grid_runs` is what a chapter calls: every run of the claim's grid at a profile, read
  from committed results (:mod:`seemrepro.experiments.results`) when their keys match the
  current code and data, else from the run store, else trained here (batched groups).
  ``SEEMREPRO_RECOMPUTE=1`` (``make book RECOMPUTE=1``) ignores committed results.
* :func:`plan` lists a grid's runs with their cost in updates and whether they are done.
* :func:`reproduce` trains the runs neither in the store nor committed, here, with a progress
  bar over the whole grid (a grid resumes across machines through its committed results);
  :func:`submit` sends the same batched groups to a cluster through submitit
  (:mod:`seemrepro.experiments.cluster`) as a job array.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from seemrepro.engine.config import RunConfig, RunResult
from seemrepro.engine.loop import batch_groups, train_runs
from seemrepro.engine.store import RunStore
from seemrepro.experiments.claims import get_claim
from seemrepro.experiments.results import CommittedResults, results_dir
from seemrepro.experiments.spec import Claim
from seemrepro.runtime import shown_path

RECOMPUTE_VARIABLE = "SEEMREPRO_RECOMPUTE"
COMMITTED, STORE, COMPUTED = "committed results", "run store", "computed in this build"


def recompute_requested() -> bool:
    return os.environ.get(RECOMPUTE_VARIABLE, "") not in ("", "0")


@dataclass
class GridRuns:
    """A claim's runs at one profile, by variant, with where each came from."""

    claim: Claim
    profile: str
    variants: dict[str, list[RunResult]]
    sources: Counter[str] = field(default_factory=Counter)
    committed: list[tuple[str, str, int]] = field(default_factory=list)
    committed_core_hours: float = 0.0

    def all(self) -> list[RunResult]:
        return [r for runs in self.variants.values() for r in runs]

    def provenance_markdown(self) -> str:
        """A short note for the chapter page: how many runs came from where."""
        where = "; ".join(f"commit `{c}` on {d}" + (f" ({n})" if len(self.committed) > 1 else "")
                          for c, d, n in self.committed)
        return sources_note("training runs", self.sources,
                            f"`{shown_path(results_dir(self.claim, self.profile))}`, computed at {where}"
                            f" in {self.committed_core_hours:.1f} core-hours")


def sources_note(noun: str, sources: Counter[str], committed_where: str) -> str:
    """The chapter-page admonition "where this page's N <noun> come from", with
    ``committed_where`` saying where the committed ones were computed."""
    parts = []
    if sources[COMMITTED]:
        parts.append(f"**{sources[COMMITTED]}** read from committed results ({committed_where})")
    if sources[STORE]:
        parts.append(f"**{sources[STORE]}** read from the local run store")
    if sources[COMPUTED]:
        parts.append(f"**{sources[COMPUTED]}** computed in this build")
    total = sum(sources.values())
    return (f"```{{admonition}} Where this page's {total} {noun} come from\n"
            f":class: note\n" + "; ".join(parts) + ".\n```")


def grid_runs(claim_id: str | Claim, profile: str, *, store: RunStore | None = None,
              recompute: bool | None = None, progress: bool = False,
              threads: int | None = None) -> GridRuns:
    """Every run of ``claim_id``'s grid at ``profile``, by variant (see the module docstring)."""
    claim = get_claim(claim_id)
    grid = claim.runs(profile)
    store = store or RunStore()
    recompute = recompute_requested() if recompute is None else recompute
    committed = None if recompute else CommittedResults.load(claim, profile)
    by_key: dict[str, RunResult] = {}
    sources: Counter[str] = Counter()
    todo: list[RunConfig] = []
    for config in grid.configs():
        key = store.key(config)
        if committed is not None and key in committed.runs:
            by_key[key] = committed.runs[key].result()
            sources[COMMITTED] += 1
        else:
            todo.append(config)
    for config, result in zip(todo, train_runs(todo, store=store, progress=progress,
                                               threads=threads), strict=True):
        by_key[store.key(config)] = result
        sources[STORE if result.cached else COMPUTED] += 1
    provenance = committed.provenance(by_key.keys()) if committed is not None else []
    core_hours = committed.core_hours(by_key.keys()) if committed is not None else 0.0
    variants = {name: [by_key[store.key(c)] for c in runs]
                for name, runs in grid.variants.items()}
    return GridRuns(claim, profile, variants, sources, provenance, core_hours)


@dataclass(frozen=True)
class PlannedRun:
    config: RunConfig
    key: str
    variant: str
    updates: int  # the run's cost: gradient updates
    status: str  # "done" (in the run store), "committed" (only in committed results), "todo"


def plan(claim_id: str | Claim, profile: str, store: RunStore | None = None,
         only: Sequence[str] = ()) -> list[PlannedRun]:
    """Every run of the grid with its cost and status; with ``only``, the runs whose variant
    label contains every one of those texts (e.g. ``("CQL",)``: one algorithm's runs)."""
    claim = get_claim(claim_id)
    grid = claim.runs(profile)
    store = store or RunStore()
    committed = CommittedResults.load(claim, profile)
    variants = grid.variant_of()
    planned = []
    for config in grid.configs():
        variant = variants[repr(config.resolved())]
        if not all(text in variant for text in only):
            continue
        key = store.key(config)
        status = "done" if store.is_done(config) else \
            "committed" if committed is not None and key in committed.runs else "todo"
        planned.append(PlannedRun(config, key, variant, config.steps, status))
    return planned


def untrained(claim_id: str | Claim, profile: str, store: RunStore,
              recompute: bool | None = None, only: Sequence[str] = ()) -> list[RunConfig]:
    """The grid's runs neither the run store nor the committed results hold yet (with
    ``recompute``, or ``SEEMREPRO_RECOMPUTE=1``, every run the store does not hold)."""
    return to_train(plan(claim_id, profile, store, only), recompute)


def to_train(planned: Sequence[PlannedRun], recompute: bool | None = None) -> list[RunConfig]:
    """Of planned runs, those to train: not in the run store, and not committed unless
    ``recompute`` (default: ``SEEMREPRO_RECOMPUTE``)."""
    recompute = recompute_requested() if recompute is None else recompute
    skip = {"done"} if recompute else {"done", "committed"}
    return [p.config for p in planned if p.status not in skip]


def reproduce(claim_id: str | Claim, profile: str, *, store: RunStore | None = None,
              max_group: int = 64, threads: int | None = None, progress: bool = True,
              only: Sequence[str] = ()) -> list[RunResult]:
    """Train, here, every run of the grid that neither the run store nor the committed results
    hold yet (:func:`untrained`): batched, with one progress bar over the grid (runs done /
    total, ETA). Returns the trained runs."""
    store = store or RunStore()
    todo = untrained(claim_id, profile, store, only=only)
    bar = tqdm(total=len(todo), disable=not progress or not todo, unit="run",
               desc=f"{get_claim(claim_id).id} at {profile}",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} runs "
                          "[{elapsed}<{remaining}]")

    def advance(runs: float) -> None:  # fractions of runs add up with rounding: never overshoot
        bar.update(max(0.0, min(runs, bar.total - bar.n)))

    try:
        return train_runs(todo, store=store, max_group=max_group, threads=threads,
                          progress=False, on_progress=advance)
    finally:
        bar.close()


def submit(claim_id: str | Claim, profile: str, options: Any, *,
           store: RunStore | None = None, max_group: int = 64,
           only: Sequence[str] = ()) -> list[Any]:
    """Submit the same batched groups as :func:`reproduce` would train, as a submitit job
    array (``options``: :class:`~seemrepro.experiments.cluster.ClusterOptions`); returns the
    jobs (``job.result()`` waits for one)."""
    from seemrepro.experiments.cluster import submit_groups

    store = store or RunStore()
    return submit_groups(batch_groups(untrained(claim_id, profile, store, only=only), max_group),
                         store, options)
