"""The committed results in data/results come from the code as it is.

Every committed run's key must still be the key the current code gives its config (else it is
stale and the book would silently retrain it), and a compact sample is trained again and
compared metric by metric: the cheapest run of each claim at the smoke profile and the
cheapest run at the book profile. ``make verify-results K=all`` checks every run.
"""

from __future__ import annotations

import pytest

from seemrepro.engine import RunStore
from seemrepro.experiments import CommittedResults
from seemrepro.experiments.claims import claims_with_grids, get_claim
from seemrepro.experiments.results import results_root
from seemrepro.experiments.status import PARTLY, claim_status
from seemrepro.experiments.verify import MATCH, SKIPPED, verification_sample, verify_results
from seemrepro.runtime import PROFILES, default_device, run_platform

CLAIMS = [c.id for c in claims_with_grids()]


def committed(claim: str, profile: str) -> CommittedResults | None:
    return CommittedResults.load(claim, profile)


@pytest.mark.parametrize("claim", CLAIMS)
def test_claims_with_runs_have_committed_smoke_and_book_results(claim: str) -> None:
    """Smoke results are complete. Book results hold only runs the grid declares now; a book
    grid still being computed (over several sittings) may miss runs, and then its claim reads
    "partly computed", whatever its chapters' verdict records say."""
    keys = RunStore()
    for profile in ("smoke", "book"):
        results = committed(claim, profile)
        assert results is not None, f"{claim} has no committed {profile} results"
        declared = get_claim(claim).runs(profile).configs()
        assert results.total_runs == len(declared), (
            f"{claim} at {profile}: the committed results cover a grid of {results.total_runs} "
            f"runs, the claim now declares {len(declared)}; train and export the new runs")
        # the same number of runs is not the same runs: a grid whose datasets or steps changed
        # would otherwise pass here while its chapter retrains everything
        declared_keys = {keys.key(c) for c in declared}
        undeclared = sorted(set(results.runs) - declared_keys)
        assert not undeclared, (
            f"{claim} at {profile}: {len(undeclared)} committed run(s) the grid no longer "
            f"declares, e.g. {undeclared[0]}; export again to drop them")
        missing = [c for c in declared if keys.key(c) not in results.runs]
        if profile == "smoke" or not missing:
            assert not missing, (
                f"{claim} at {profile}: {len(missing)} declared run(s) have no committed "
                f"result, e.g. {missing[0].algorithm} on {missing[0].dataset} "
                f"({missing[0].steps:,} steps); train and export them")
        else:
            assert claim_status(get_claim(claim), profile).status == PARTLY, (
                f"{claim} at {profile} misses {len(missing)} runs but does not read "
                f"'{PARTLY}'")


@pytest.mark.parametrize("claim", CLAIMS)
def test_committed_runs_are_not_stale(claim: str) -> None:
    keys = RunStore()
    for profile in PROFILES:
        results = committed(claim, profile)
        for run in (results.runs.values() if results else []):
            assert keys.key(run.config) == run.key, (
                f"{claim} {profile} run {run.key} was computed by other code or data; "
                f"re-export it (seemrepro results export {claim} --profile {profile})")


def test_committed_results_stay_small() -> None:
    size = sum(p.stat().st_size for p in results_root().rglob("*") if p.is_file())
    assert size < 20 * 2**20, f"data/results holds {size / 2**20:.1f} MB"


@pytest.mark.slow
def test_a_sample_of_committed_runs_trains_to_the_same_metrics() -> None:
    sample = verification_sample()
    assert sample == [(c, "smoke") for c in CLAIMS] + [(sample[-1][0], "book")]
    outcomes = [o for claim, profile in sample for o in verify_results([claim], [profile], k=1)]
    assert len(outcomes) == len(CLAIMS) + 1
    # a run computed on another kind of CPU differs in the last bits: verified only there, or
    # against its replica on this kind (`seemrepro results replicate --sample`)
    checked = [o for o in outcomes if not (o.status == SKIPPED and "computed on" in o.detail)]
    for o in checked:
        assert o.status == MATCH, f"{o.claim} {o.profile} seed {o.seed}: {o.status} {o.detail}"
    if not checked:
        pytest.skip(f"no sampled run was computed on {run_platform(default_device())} or has a "
                    f"replica there")
