"""Re-verifying committed results: retrain a deterministic sample of runs and compare.

For each claim and profile with committed results, the *cheapest* ``k`` runs (by their recorded
wall time, ties by key) are trained again from their config with the current code, as they
were trained (with the runs of their batched group, and the same number of torch threads:
float sums depend on both) and compared with the committed metrics: the same (step, seed, metric) rows, every value within
``rtol``/``atol`` (NaN matches NaN) and the same divergence step. A committed run whose key
differs from the key the current code gives its config is *stale* (the code or the data
changed since): that fails too, and the fix is to re-export. Runs computed on another kind of
device (CUDA against this CPU) or another kind of CPU (:func:`seemrepro.runtime.numeric_platform`:
AVX2 and AVX-512 kernels differ in the last bits, and a diverging run magnifies them past any
tolerance) are listed as skipped, verified only there. Runs exported before the CPU kind was
recorded count as :data:`UNRECORDED_PLATFORM`'s, where CI verified them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seemrepro.engine.config import RunResult
from seemrepro.engine.loop import train_runs
from seemrepro.engine.store import RunStore
from seemrepro.experiments.claims import claims_with_grids, get_claim
from seemrepro.experiments.results import CommittedResults, CommittedRun
from seemrepro.experiments.spec import Claim
from seemrepro.runtime import PROFILES, default_device, run_platform

RTOL, ATOL = 1e-4, 1e-6
MATCH, MISMATCH, STALE, SKIPPED = "match", "mismatch", "stale", "skipped"
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


def verify_results(claim_ids: Sequence[str | Claim] | None = None,
                   profiles: Sequence[str] = PROFILES, *, k: int | None = 1,
                   rtol: float = RTOL, atol: float = ATOL, threads: int | None = None,
                   progress: bool = False) -> list[Verification]:
    """Retrain the cheapest ``k`` committed runs (``None``: all) per claim and profile
    (``threads``: override the thread count each run was trained with)."""
    claims = [get_claim(c) for c in claim_ids] if claim_ids else claims_with_grids()
    here = run_platform(default_device())
    keys = RunStore()
    outcomes = []
    for claim in claims:
        for profile in profiles:
            committed = CommittedResults.load(claim, profile)
            if committed is None:
                continue
            for run in cheapest(committed, k):
                config = run.config
                seed = config.seed
                where = platform_of(run.summary)
                if keys.key(config) != run.key:
                    outcomes.append(Verification(claim.id, profile, run.key, run.variant, seed,
                                                 STALE, "the code version or the data changed "
                                                 "since the export"))
                    continue
                if where != here:
                    outcomes.append(Verification(claim.id, profile, run.key, run.variant, seed,
                                                 SKIPPED, f"computed on {where}; verified "
                                                 f"only there"))
                    continue
                members = run.summary.get("group", [run.key])
                if any(k not in committed.runs for k in members):
                    outcomes.append(Verification(claim.id, profile, run.key, run.variant, seed,
                                                 SKIPPED, "trained in a group with runs that "
                                                 "were not exported"))
                    continue
                trained = train_runs([committed.runs[k].config for k in members], store=None,
                                     progress=progress, max_group=len(members),
                                     threads=threads or threads_of(run.summary))
                again = trained[members.index(run.key)]
                detail = compare(run.result(), again, rtol, atol)
                outcomes.append(Verification(claim.id, profile, run.key, run.variant, seed,
                                             MISMATCH if detail else MATCH, detail))
    return outcomes
