"""Re-verifying committed results: retrain a deterministic sample of runs and compare.

For each claim and profile with committed results, the *cheapest* ``k`` runs (by their recorded
wall time, ties by key) are trained again from their config with the current code, as they
were trained (with the runs of their batched group, and the same number of torch threads:
float sums depend on both) and compared with the committed metrics: the same (step, seed,
metric) rows, every value within ``rtol``/``atol`` (NaN matches NaN) and the same divergence step. A committed run whose key
differs from the key the current code gives its config is *stale* (the code or the data
changed since): that fails too, and the fix is to re-export. Runs computed on another kind of
device (CUDA against this CPU) or another kind of CPU (:func:`seemrepro.runtime.numeric_platform`:
AVX2 and AVX-512 kernels differ in the last bits, and a diverging run magnifies them past any
tolerance) are compared with their *replica* on this platform when one is committed
(:func:`replicate_results` trains them again here and records what they give; the platform of a
replica is :func:`seemrepro.runtime.exact_platform`, down to the CPU model), else listed as
skipped, verified only there. Runs exported before the CPU kind was recorded count as
:data:`UNRECORDED_PLATFORM`'s, where CI verified them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from seemrepro.engine.config import RunResult
from seemrepro.engine.loop import train_runs
from seemrepro.engine.store import RunStore
from seemrepro.experiments.claims import claims_with_grids, get_claim
from seemrepro.experiments.results import CommittedResults, CommittedRun, Replica, save_replicas
from seemrepro.experiments.spec import Claim
from seemrepro.runtime import PROFILES, default_device, exact_platform, git_commit, run_platform

RTOL, ATOL = 1e-4, 1e-6
MATCH, MISMATCH, STALE, SKIPPED = "match", "mismatch", "stale", "skipped"
REPLICATED = "replicated"
# where the CI that verified the runs exported without a CPU kind ran
UNRECORDED_PLATFORM = "AuthenticAMD/AVX2"


@dataclass(frozen=True)
class Verification:
    claim: str
    profile: str
    key: str
    variant: str
    seed: int
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (MATCH, SKIPPED)


def cheapest(committed: CommittedResults, k: int | None) -> list[CommittedRun]:
    runs = sorted(committed.runs.values(),
                  key=lambda r: (float(r.summary.get("seconds", 0.0)), r.key))
    return runs if k is None else runs[:k]


def compare(expected: RunResult, actual: RunResult, rtol: float = RTOL,
            atol: float = ATOL) -> str:
    """Empty when the runs agree, else what differs first."""
    if expected.diverged_at != actual.diverged_at:
        return f"diverged at {actual.diverged_at}, committed {expected.diverged_at}"
    a = {(s, seed, m): v for s, seed, m, v in actual.rows}
    e = {(s, seed, m): v for s, seed, m, v in expected.rows}
    if a.keys() != e.keys():
        missing, extra = sorted(e.keys() - a.keys())[:3], sorted(a.keys() - e.keys())[:3]
        return f"different rows: missing {missing}, extra {extra}"
    for row, want in sorted(e.items()):
        got = a[row]
        if math.isnan(want) and math.isnan(got):
            continue
        if not math.isclose(got, want, rel_tol=rtol, abs_tol=atol):
            return f"{row[2]} at step {row[0]}: {got!r}, committed {want!r}"
    return ""


def threads_of(summary: dict[str, Any]) -> int:
    """The torch threads a run was trained with (older records: from the device text)."""
    if summary.get("threads"):
        return int(summary["threads"])
    found = re.search(r"(\d+) threads?\b", summary.get("device", ""))
    return int(found.group(1)) if found else 1


def device_kind(description: str) -> str:
    return description.split(" ", 1)[0] if description else "cpu"


def platform_of(summary: dict[str, Any]) -> str:
    """The CPU kind (or GPU) a run was computed on; :data:`UNRECORDED_PLATFORM` for CPU runs
    exported before it was recorded."""
    if summary.get("platform"):
        return str(summary["platform"])
    device = summary.get("device", "")
    return UNRECORDED_PLATFORM if device_kind(device) == "cpu" else device


def computed_on(summary: dict[str, Any]) -> str:
    """Where a run was computed, as finely as its record says: :func:`platform_of`, down to the
    CPU model for runs that record it."""
    return str(summary.get("exact_platform") or platform_of(summary))


def computed_here(summary: dict[str, Any], device: torch.device) -> bool:
    """Whether a run's record can be compared with a retraining on ``device``: the same kind of
    CPU or GPU, and the same CPU model where the run records one."""
    if platform_of(summary) != run_platform(device):
        return False
    return not summary.get("exact_platform") or summary["exact_platform"] == exact_platform(device)


def verification_sample() -> list[tuple[str, str]]:
    """The (claim, profile) pairs whose cheapest committed run the test suite trains again:
    every claim with runs at smoke, and the claim whose cheapest book run is cheapest."""
    claims = [c.id for c in claims_with_grids()]
    pairs = [(c, "smoke") for c in claims if CommittedResults.load(c, "smoke") is not None]
    book = [(float(cheapest(res, 1)[0].summary.get("seconds", 0.0)), c) for c in claims
            if (res := CommittedResults.load(c, "book")) is not None and res.runs]
    return pairs + ([(min(book)[1], "book")] if book else [])


def _selected(claim_ids: Sequence[str | Claim] | None, profiles: Sequence[str], k: int | None
              ) -> Iterator[tuple[Claim, str, CommittedResults, CommittedRun]]:
    """The cheapest ``k`` committed runs of each claim (default: every claim with runs) at each
    profile, with their claim, profile and committed results."""
    claims = [get_claim(c) for c in claim_ids] if claim_ids else claims_with_grids()
    for claim in claims:
        for profile in profiles:
            committed = CommittedResults.load(claim, profile)
            if committed is None:
                continue
            for run in cheapest(committed, k):
                yield claim, profile, committed, run


def _retrain(committed: CommittedResults, run: CommittedRun, threads: int | None,
             progress: bool) -> RunResult | None:
    """``run`` trained again as it was trained: with the runs of its batched group and its
    thread count; ``None`` when a member of its group was not exported."""
    members = run.summary.get("group", [run.key])
    if any(k not in committed.runs for k in members):
        return None
    trained = train_runs([committed.runs[k].config for k in members], store=None,
                         progress=progress, max_group=len(members),
                         threads=threads or threads_of(run.summary))
    return trained[members.index(run.key)]


GROUP_NOT_EXPORTED = "trained in a group with runs that were not exported"


def verify_results(claim_ids: Sequence[str | Claim] | None = None,
                   profiles: Sequence[str] = PROFILES, *, k: int | None = 1,
                   rtol: float = RTOL, atol: float = ATOL, threads: int | None = None,
                   progress: bool = False) -> list[Verification]:
    """Retrain the cheapest ``k`` committed runs (``None``: all) per claim and profile
    (``threads``: override the thread count each run was trained with) and compare them with
    their record, or, for a run computed on another kind of CPU or device, with its replica
    on this platform (:func:`replicate_results`); without one it is skipped."""
    device = default_device()
    exact = exact_platform(device)
    keys = RunStore()
    outcomes = []
    for claim, profile, committed, run in _selected(claim_ids, profiles, k):
        config = run.config

        def outcome(status: str, detail: str = "", run: CommittedRun = run,
                    profile: str = profile, claim: Claim = claim) -> Verification:
            return Verification(claim.id, profile, run.key, run.variant, run.config.seed,
                                status, detail)

        if keys.key(config) != run.key:
            outcomes.append(outcome(STALE, "the code version or the data changed since the "
                                           "export"))
            continue
        expected, against = run.result(), ""
        if not computed_here(run.summary, device):
            replica = committed.replicas.get((run.key, exact))
            if replica is None:
                outcomes.append(outcome(SKIPPED, f"computed on {computed_on(run.summary)}; "
                                                 f"verified only there"))
                continue
            expected, against = replica.result(config), f"its replica on {exact}"
        again = _retrain(committed, run, threads, progress)
        if again is None:
            outcomes.append(outcome(SKIPPED, GROUP_NOT_EXPORTED))
            continue
        differs = compare(expected, again, rtol, atol)
        detail = (f"against {against}" + (f": {differs}" if differs else "")
                  if against else differs)
        outcomes.append(outcome(MISMATCH if differs else MATCH, detail))
    return outcomes


def replicate_results(claim_ids: Sequence[str | Claim] | None = None,
                      profiles: Sequence[str] = PROFILES, *, k: int | None = 1,
                      progress: bool = False) -> list[Verification]:
    """Train the cheapest ``k`` committed runs per claim and profile again here, where they
    were computed on another kind of CPU or device, and commit what they give as replicas
    (:class:`~seemrepro.experiments.results.Replica`), so that :func:`verify_results` can check
    them on this platform too. A run computed here already verifies against its own record
    (listed as skipped); a stale one cannot be replicated (listed as stale)."""
    device = default_device()
    exact = exact_platform(device)
    keys = RunStore()
    outcomes = []
    made: dict[tuple[str, str], tuple[Claim, list[Replica]]] = {}
    for claim, profile, committed, run in _selected(claim_ids, profiles, k):
        status, detail = REPLICATED, f"on {exact}"
        if keys.key(run.config) != run.key:
            status, detail = STALE, "export it again first"
        elif computed_here(run.summary, device):
            status, detail = SKIPPED, "computed here: it verifies against its record"
        elif (again := _retrain(committed, run, None, progress)) is None:
            status, detail = SKIPPED, GROUP_NOT_EXPORTED
        else:
            summary = {"diverged_at": again.diverged_at, "seconds": again.seconds,
                       "threads": threads_of(run.summary), "commit": git_commit(),
                       "torch": torch.__version__,
                       "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            made.setdefault((claim.id, profile), (claim, []))[1].append(
                Replica(run.key, exact, summary, list(again.rows)))
        outcomes.append(Verification(claim.id, profile, run.key, run.variant, run.config.seed,
                                     status, detail))
    for (_, profile), (claim, replicas) in made.items():
        save_replicas(claim, profile, replicas)
    return outcomes
