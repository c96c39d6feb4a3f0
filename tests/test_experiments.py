"""The experiments layer: claims as data, grids, committed results, status and verification."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
from pathlib import Path

import pytest

from seemrepro import runtime
from seemrepro.engine import MonitorConfig, RunConfig, RunStore
from seemrepro.engine.loop import train_runs
from seemrepro.experiments import (
    CLAIMS,
    Claim,
    CommittedResults,
    Grid,
    Threshold,
    export_results,
    get_claim,
    grid_runs,
    plan,
    reproduce,
)
from seemrepro.experiments.claims import BEYOND_THE_PAPER, claims_with_grids, runs_owner
from seemrepro.experiments.results import (
    REPLICAS_FILE,
    CorruptResultsError,
    Replica,
    results_dir,
    save_replicas,
)
from seemrepro.experiments.runner import COMMITTED, COMPUTED, STORE, untrained
from seemrepro.experiments.status import (
    FAILED,
    NOT_RUN,
    PARTLY,
    PASSED,
    claim_status,
    claims_page,
    record_verdict,
)
from seemrepro.experiments.verify import (
    MATCH,
    MISMATCH,
    REPLICATED,
    SKIPPED,
    STALE,
    UNRECORDED_PLATFORM,
    compare,
    replicate_results,
    threads_of,
    verify_results,
)
from seemrepro.runtime import PROFILES, by_profile, project_root

SMALL = {"critic": {"hidden": [16, 16]}, "actor_hidden": [16, 16], "tau": 1.0}
MON = MonitorConfig(q_every=20, seem_every=0, checkpoint_every=40)


def tiny_grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=60, book=80, paper=100)
    base = RunConfig("td3", "synthetic/2000", steps=steps, batch_size=32, agent=SMALL,
                     monitors=MON)
    layernorm = RunConfig("td3", "synthetic/2000", steps=steps, batch_size=32, monitors=MON,
                          agent={**SMALL, "critic": {"hidden": [16, 16], "norm": "layernorm"}})
    return Grid.over_seeds({"plain": base, "LN": layernorm}, [0, 1])


TINY = Claim("X1", "a tiny test claim", "none", (), (Threshold("level", 0.5, "r", "p", "why"),),
             tiny_grid)


@pytest.fixture
def results_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "results"
    monkeypatch.setenv("SEEMREPRO_RESULTS", str(root))
    monkeypatch.delenv("SEEMREPRO_RECOMPUTE", raising=False)
    return root


def test_registry_holds_every_claim_of_the_reproduction_plan() -> None:
    plan_file = project_root().parent / "shared" / "REPRODUCTION.md"
    if not plan_file.exists():
        pytest.skip("REPRODUCTION.md is not beside the project")
    ids = re.findall(r"^\| ([TNA]\d+) \|", plan_file.read_text(), flags=re.MULTILINE)
    assert ids and [c.id for c in CLAIMS if c.id not in BEYOND_THE_PAPER] == ids
    assert set(BEYOND_THE_PAPER) <= {c.id for c in CLAIMS}


def test_every_chapter_named_by_a_claim_exists_and_grids_build_at_every_profile() -> None:
    for claim in CLAIMS:
        for chapter in claim.chapters:
            assert (project_root() / "book" / f"{chapter}.py").exists(), chapter
        if claim.grid is not None:
            for profile in PROFILES:
                grid = claim.runs(profile)
                assert len(grid) == len({repr(c.resolved()) for c in grid.configs()}) > 0


def test_claims_and_thresholds_fail_clearly() -> None:
    with pytest.raises(ValueError, match="unknown claim 'T99'; known: T1, T2"):
        get_claim("T99")
    assert get_claim("t10") is get_claim("T10")
    assert TINY.threshold("level") == 0.5
    with pytest.raises(KeyError, match="declares no threshold 'nope'; it has level"):
        TINY.threshold("nope")
    with pytest.raises(ValueError, match="declares no training runs"):
        get_claim("T1").runs("book")
    with pytest.raises(ValueError, match="unknown profile"):
        TINY.runs("huge")


def test_grid_over_seeds_and_repeats() -> None:
    grid = tiny_grid("smoke")
    assert list(grid.variants) == ["plain", "LN"] and len(grid) == 4
    doubled = Grid({"a": grid.variants["plain"], "b": grid.variants["plain"]})
    assert len(doubled) == 2  # one run read by two variants is trained once


def test_export_load_and_committed_runs_stand_in_for_training(tmp_path: Path,
                                                              results_root: Path) -> None:
    store = RunStore(tmp_path / "runs")
    first = grid_runs(TINY, "smoke", store=store)
    assert first.sources == {COMPUTED: 4}
    assert grid_runs(TINY, "smoke", store=store).sources == {STORE: 4}
    out, done, total = export_results(TINY, "smoke", store=store)
    assert (done, total) == (4, 4) and out == results_dir(TINY, "smoke")
    committed = CommittedResults.load(TINY, "smoke")
    assert committed is not None and len(committed.runs) == 4
    run = next(iter(committed.runs.values()))
    assert run.summary["device"].startswith("cpu") and run.summary["commit"]
    assert "code_version" in run.record and "data_fingerprint" in run.record

    fresh = RunStore(tmp_path / "elsewhere")  # a fresh clone: no run store, committed results
    again = grid_runs(TINY, "smoke", store=fresh)
    assert again.sources == {COMMITTED: 4}
    assert not list(fresh.root.glob("*/*/summary.json"))
    for name in first.variants:
        for a, b in zip(first.variants[name], again.variants[name], strict=True):
            assert a.rows == b.rows and a.diverged_at == b.diverged_at
    note = again.provenance_markdown()
    assert "**4** read from committed results" in note and run.summary["commit"] in note
    threads = run.summary["threads"]  # every run of this build trained on as many threads
    trained = threads * sum(r.seconds for runs in first.variants.values() for r in runs) / 3600
    assert again.committed_core_hours == pytest.approx(trained) and trained > 0
    assert f"in {trained:.1f} core-hours" in note
    assert f"`{results_dir(TINY, 'smoke')}`" in note  # the results folder the tests set
    assert committed.core_hours([run.key]) == pytest.approx(threads * run.summary["seconds"] / 3600)

    recomputed = grid_runs(TINY, "smoke", store=fresh, recompute=True)
    assert recomputed.sources == {COMPUTED: 4}


def test_export_of_a_partly_computed_grid_and_of_nothing(tmp_path: Path,
                                                          results_root: Path) -> None:
    store = RunStore(tmp_path / "runs")
    with pytest.raises(ValueError, match="no finished run of claim X1"):
        export_results(TINY, "book", store=store)
    train_runs(list(TINY.runs("book").variants["plain"]), store=store, progress=False)
    assert export_results(TINY, "book", store=store)[1:] == (2, 4)
    assert claim_status(TINY, "book").status == PARTLY
    statuses = {p.status for p in plan(TINY, "book", RunStore(tmp_path / "other"))}
    assert statuses == {"committed", "todo"}


def test_a_grid_resumes_on_another_machine_through_its_committed_results(
        tmp_path: Path, results_root: Path) -> None:
    claim = dataclasses.replace(TINY, chapters=("tiny",))
    first = RunStore(tmp_path / "first")
    train_runs(list(TINY.runs("book").variants["plain"]), store=first, progress=False)
    export_results(TINY, "book", store=first)
    record_verdict("tiny", "book", passed=True, verdict="ok", commit="c", device="cpu",
                   torch_version="t", wall_seconds=1.0)
    assert claim_status(claim, "book").status == PARTLY  # a verdict on half a grid does not count

    second = RunStore(tmp_path / "second")  # a fresh machine: only the committed results
    trained = reproduce(TINY, "book", store=second, progress=False)
    assert len(trained) == 2
    assert all(r.config.agent["critic"].get("norm") == "layernorm" for r in trained)
    assert export_results(TINY, "book", store=second)[1:] == (4, 4)
    merged = CommittedResults.load(TINY, "book")
    assert merged is not None
    for config in TINY.runs("book").variants["plain"]:
        before = first.load(config)
        assert before is not None and merged.runs[first.key(config)].rows == before.rows
    assert claim_status(claim, "book").status == PASSED
    again = reproduce(TINY, "book", store=RunStore(tmp_path / "third"), progress=False)
    assert again == []
    assert len(untrained(TINY, "book", RunStore(tmp_path / "third"), recompute=True)) == 4


def test_corrupt_committed_results_are_a_clear_error(tmp_path: Path, results_root: Path) -> None:
    store = RunStore(tmp_path / "runs")
    train_runs(list(TINY.runs("smoke").variants["plain"]), store=store, progress=False)
    out, _, _ = export_results(TINY, "smoke", store=store)
    data = (out / "metrics.csv.gz").read_bytes()
    (out / "metrics.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptResultsError, match="cannot be read .* export them again"):
        CommittedResults.load(TINY, "smoke")
    (out / "metrics.csv.gz").write_bytes(gzip.compress(b"key,step\n"))
    with pytest.raises(CorruptResultsError, match="unexpected header"):
        CommittedResults.load(TINY, "smoke")


def test_reproduce_trains_what_is_missing_and_skips_the_rest(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    train_runs([TINY.runs("smoke").variants["LN"][0]], store=store, progress=False)
    assert [p.status for p in plan(TINY, "smoke", store)].count("done") == 1
    progress: list[float] = []
    trained = reproduce(TINY, "smoke", store=store, progress=False)
    assert len(trained) == 3 and not any(r.cached for r in trained)
    assert {p.status for p in plan(TINY, "smoke", store)} == {"done"}
    assert reproduce(TINY, "smoke", store=store, progress=False) == []
    assert progress == []


def test_progress_adds_up_to_the_runs_trained(tmp_path: Path) -> None:
    seen: list[float] = []
    train_runs(TINY.runs("smoke").configs(), store=RunStore(tmp_path), progress=False,
               on_progress=seen.append)
    assert sum(seen) == pytest.approx(4.0)


def test_claim_status_from_verdict_records(results_root: Path) -> None:
    t6 = get_claim("T6")  # two chapters: passed only when both passed
    assert claim_status(t6, "paper", results_root).status == NOT_RUN
    common = {"commit": "abc", "device": "cpu (x86_64, 1 threads)", "torch_version": "2",
              "wall_seconds": 1.0, "root": results_root}
    record_verdict("t6_adam_growth", "paper", passed=True, verdict="ok: PASS", **common)
    assert claim_status(t6, "paper", results_root).status == PARTLY
    record_verdict("t6_offline_growth", "paper", passed=True, verdict="ok: PASS", **common)
    status = claim_status(t6, "paper", results_root)
    assert (status.status, status.commit, status.device) == (PASSED, "abc", "cpu")
    record_verdict("t6_offline_growth", "paper", passed=False, verdict="boom", **common)
    assert claim_status(t6, "paper", results_root).status == FAILED
    assert claim_status(Claim("X1", "no chapter", "none"), "paper",
                        results_root).detail == "no chapter yet"
    # one chapter checking two claims: each claim is judged by its own lines
    shared = "A1: drop: PASS\nA2: gain: FAIL\nA1 verdict: PASS\nA2 verdict: FAIL\n"
    record_verdict("a1_x_percent", "paper", passed=False, verdict=shared, **common)
    assert claim_status(get_claim("A1"), "paper", results_root).status == PASSED
    assert claim_status(get_claim("A2"), "paper", results_root).status == FAILED
    record_verdict("a1_x_percent", "paper", passed=False, verdict="KeyError: 'x'", **common)
    assert claim_status(get_claim("A1"), "paper", results_root).status == FAILED
    page = claims_page(results_root)
    assert page.startswith("# Claims at a glance")
    assert "| T6 |" in page and "failed" in page and "surge_rise" in page


def test_threads_of_reads_the_record_or_older_device_texts() -> None:
    assert threads_of({"threads": 4, "device": "cpu (x86_64, 1 threads)"}) == 4
    assert threads_of({"device": "cpu (x86_64, 3 threads)"}) == 3
    assert threads_of({"device": "cpu (GenuineIntel/AVX512, 1 thread)"}) == 1
    assert threads_of({"device": "cuda (NVIDIA H200)"}) == 1


def test_compare_and_verify(tmp_path: Path, results_root: Path) -> None:
    store = RunStore(tmp_path / "runs")
    (run,) = train_runs([TINY.runs("smoke").variants["plain"][0]], store=store, progress=False)
    assert compare(run, run) == ""
    shifted = type(run)(run.config, [(s, seed, m, v * 1.01) for s, seed, m, v in run.rows],
                        run.diverged_at, run.seconds)
    assert "at step 0" in compare(run, shifted)
    export_results(TINY, "smoke", store=store)
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == MATCH and outcome.ok

    runs_file = results_dir(TINY, "smoke") / "runs.json"
    meta = json.loads(runs_file.read_text())
    with gzip.open(results_dir(TINY, "smoke") / "metrics.csv.gz", "rt") as f:
        lines = f.read().splitlines()
    header, first, *rest = lines
    key, step, seed, metric, value = first.split(",")
    tampered = "\n".join([header, f"{key},{step},{seed},{metric},{float(value) + 1.0}", *rest])
    (results_dir(TINY, "smoke") / "metrics.csv.gz").write_bytes(gzip.compress(tampered.encode()))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == MISMATCH and not outcome.ok

    summary = meta["runs"][0]["summary"]
    assert summary["platform"] == runtime.numeric_platform()  # the CPU kind it ran on
    assert summary.pop("exact_platform") == runtime.exact_platform(runtime.default_device())
    summary["platform"] = "OtherVendor/AVX2"
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)  # verified only on its CPU kind
    assert outcome.status == SKIPPED and outcome.ok and "on OtherVendor/AVX2" in outcome.detail
    del summary["platform"]  # exported before CPU kinds were recorded: CI's kind
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert (outcome.status == SKIPPED) == (runtime.numeric_platform() != UNRECORDED_PLATFORM)

    summary["device"] = "cuda (NVIDIA H200)"
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)  # verified only on its device kind
    assert outcome.status == SKIPPED and outcome.ok and "computed on cuda" in outcome.detail

    meta["runs"][0]["key"] = "0" * 16  # exported by other code or data: stale
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == STALE and not outcome.ok


def test_a_run_from_another_cpu_kind_verifies_against_its_replica_here(
        tmp_path: Path, results_root: Path) -> None:
    store = RunStore(tmp_path / "runs")
    train_runs([TINY.runs("smoke").variants["plain"][0]], store=store, progress=False)
    export_results(TINY, "smoke", store=store)
    runs_file = results_dir(TINY, "smoke") / "runs.json"
    meta = json.loads(runs_file.read_text())
    meta["runs"][0]["summary"].update(platform="OtherVendor/AVX2",
                                      exact_platform="OtherVendor/AVX2 (family 1 model 1)")
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == SKIPPED and "on OtherVendor/AVX2 (family 1" in outcome.detail
    run = CommittedResults.load(TINY, "smoke").runs[outcome.key]  # type: ignore[union-attr]
    elsewhere = Replica(run.key, "OtherVendor/AVX512 (family 6 model 1)", {}, run.rows)
    save_replicas(TINY, "smoke", [elsewhere])
    (outcome,) = verify_results([TINY], ["smoke"], k=1)  # a replica on another model: no help
    assert outcome.status == SKIPPED

    (made,) = replicate_results([TINY], ["smoke"], k=1)
    assert made.status == REPLICATED
    committed = CommittedResults.load(TINY, "smoke")
    assert committed is not None
    exact = runtime.exact_platform(runtime.default_device())
    replica = committed.replicas[(outcome.key, exact)]
    assert set(committed.replicas) == {(run.key, exact), (run.key, elsewhere.platform)}
    assert replica.rows == sorted(committed.runs[outcome.key].rows)  # same code and machine
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == MATCH and outcome.detail == f"against its replica on {exact}"

    replica.rows[0] = (*replica.rows[0][:3], replica.rows[0][3] + 1.0)  # tampered: fails
    save_replicas(TINY, "smoke", [replica])
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == MISMATCH and "against its replica" in outcome.detail
    with pytest.raises(ValueError, match="not among the committed"):
        save_replicas(TINY, "smoke", [dataclasses.replace(replica, key="0" * 16)])

    # replicating again replaces the tampered replica; a run computed here needs none
    assert replicate_results([TINY], ["smoke"], k=1)[0].status == REPLICATED
    summary = meta["runs"][0]["summary"]
    summary["platform"] = runtime.run_platform(runtime.default_device())
    summary["exact_platform"] = f"{summary['platform']} (another model)"
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)  # same kind, other model: the replica
    assert outcome.status == MATCH and "against its replica" in outcome.detail
    summary["exact_platform"] = exact
    runs_file.write_text(json.dumps(meta))
    (outcome,) = verify_results([TINY], ["smoke"], k=1)
    assert outcome.status == MATCH and outcome.detail == ""
    assert replicate_results([TINY], ["smoke"], k=1)[0].status == SKIPPED
    assert len(CommittedResults.load(TINY, "smoke").replicas) == 2  # type: ignore[union-attr]
    # a run the grid no longer declares: export drops it and its replica
    meta["runs"].append({**meta["runs"][0], "key": "f" * 16})
    runs_file.write_text(json.dumps(meta))
    save_replicas(TINY, "smoke", [dataclasses.replace(replica, key="f" * 16)])
    assert len(CommittedResults.load(TINY, "smoke").replicas) == 3  # type: ignore[union-attr]
    export_results(TINY, "smoke", store=store)
    kept = CommittedResults.load(TINY, "smoke")
    assert kept is not None and "f" * 16 not in kept.runs
    assert {k for k, _ in kept.replicas} == {run.key}
    (results_dir(TINY, "smoke") / REPLICAS_FILE).write_bytes(b"not gzip")
    with pytest.raises(CorruptResultsError):
        CommittedResults.load(TINY, "smoke")


def test_a_verdict_that_prints_fail_is_a_failed_claim() -> None:
    from seemrepro.experiments.status import verdict_reports_failure

    assert not verdict_reports_failure("T5 verdict: 12 of 12 runs agree: PASS")
    assert verdict_reports_failure("L=2: 0 of 5 runs within 2%: FAIL\nthe rest: PASS")
    assert verdict_reports_failure("the paper's lead is NOT reproduced")
    assert not verdict_reports_failure("the null predictor fails the 2% test: PASS")


def test_the_maze_grids_share_runs_and_name_table_1s_ours() -> None:
    import pandas as pd

    from seemrepro.experiments.grids import a3, a4

    for profile in ("smoke", "book"):
        a3_runs = {repr(c.resolved()) for c in a3.grid(profile).configs()}
        a4_grid = a4.grid(profile)
        shared = [v for v, runs in a4_grid.variants.items()
                  if all(repr(c.resolved()) in a3_runs for c in runs)]
        assert shared == ["large · Diff-QL", "large · Diff-QL + LN"]
    book = a4.grid("book").variants
    assert {c.sampler for c in book["large · Diff-QL + LN + OPER-R"]} == {"oper-r"}
    assert "umaze · Diff-QL + LN + OPER-R" not in book
    assert all(c.reward_transform == "antmaze" for runs in book.values() for c in runs)
    wide = pd.DataFrame({"umaze": [1.0, 2.0, None], "large": [3.0, 4.0, 5.0]},
                        index=["Diff-QL", "Diff-QL + LN", "Diff-QL + LN + OPER-R"])
    assert a4.with_ours(wide).loc[a4.OURS].tolist() == [2.0, 5.0]


def test_the_maze_table_lays_out_tables_1_and_2_and_the_final_window() -> None:
    import pandas as pd

    from seemrepro.experiments.grids import a4, mazes

    index = pd.MultiIndex.from_tuples(
        [(maze, method) for method in a4.METHODS for maze in a4.METHODS[method][3]],
        names=["maze", "method"])
    summary = pd.DataFrame({"mean score": range(len(index))}, index=index, dtype=float)
    table = a4.maze_table(summary, "mean score")
    assert list(table.index) == [*a4.METHODS, a4.OURS]
    assert list(table.columns) == [*mazes.DATASETS, "mean over mazes"]
    assert pd.isna(table.loc["Diff-QL + LN + OPER-R", "mean over mazes"])  # no umaze row
    ours = [table.loc[a4.ours(m), m] for m in mazes.DATASETS]
    assert table.loc[a4.OURS, "mean over mazes"] == pytest.approx(sum(ours) / 3)
    config = a4.grid("book").variants["large · Diff-QL"][0]
    # the last ten of twenty evaluations: from half an interval before the eleventh
    assert mazes.final_window_start(config) == config.steps - 9.5 * config.monitors.eval_every


def test_the_x_percent_grid_shares_one_subset_and_a5_builds_step_on_step() -> None:
    from seemrepro.experiments.grids import a1, a5, a6

    for profile in ("smoke", "book", "paper"):
        configs = a1.grid(profile).configs()
        # the same X% subset for every algorithm and critic: one subset seed
        assert {c.subset_seed for c in configs} == {0}
        algorithms, tasks, fractions = a1.cells(profile)
        assert len(a1.grid(profile).variants) == sum(
            len(a1.algorithm_tasks(profile, a)) for a in algorithms) * len(fractions) * len(
            a1.CRITICS)
        assert all(set(a1.algorithm_tasks(profile, a)) <= set(tasks) for a in algorithms)
        # CQL in float32 everywhere (its numerics must not depend on the CPU), and at book on
        # fewer seeds than the others
        cql = [c for c in configs if c.algorithm == "cql"]
        assert {c.resolved().agent["penalty_dtype"] for c in cql} == {"float32"}
        assert {c.seed for c in cql} == set(a1.algorithm_seeds(profile, "CQL"))
        assert {c.seed for c in configs if c.algorithm != "cql"} == set(a1.seeds(profile))
    assert a1.algorithm_seeds("book", "CQL") == [0] and a1.seeds("book") == [0, 1]
    assert a1.cells("paper")[1] == a1.TASKS and len(a1.TASKS) == 9
    assert set(a1.D4RL_TRANSITIONS) == set(a1.TASKS)
    # A5: "+ double Q" is TD3+BC itself, and "+ LN" is TD3+BC with LayerNorm (A2's LN runs)
    book = a5.grid("book").variants
    task = a5.tasks("book")[0]
    agents = {step: book[a5.variant_label(task, 0.1, step)][0].resolved().agent
              for step in a5.STEPS}
    td3bc = a1.grid("book").variants[a1.variant_label("TD3+BC", task, 0.01, "none")][0]
    assert agents["+ double Q"] == td3bc.resolved().agent
    assert (agents["no EMA"]["tau"], agents["+ EMA"]["tau"]) == (1.0, td3bc.resolved().agent["tau"])
    assert not agents["+ EMA"]["double_q"] and agents["+ double Q"]["double_q"]
    assert agents["+ LN"]["critic"]["norm"] == "layernorm"
    # A6: the three settings differ only in tau and the critic's normalization
    sac = {name: a6.grid("book").variants[a6.variant_label("hopper", name)][0].resolved().agent
           for name in a6.VARIANTS}
    assert sac[a6.EMA]["tau"] < 1.0 == sac[a6.NO_EMA]["tau"] == sac[a6.NO_EMA_LN]["tau"]
    assert {k for k in sac[a6.EMA] if sac[a6.EMA][k] != sac[a6.NO_EMA_LN][k]} == {"tau", "critic"}


def test_the_x_percent_data_table_counts_the_subsets() -> None:
    from seemrepro.experiments.grids import a1

    table = a1.data_table(("hopper/medium",), (0.01, 1.0))
    row = table.loc["hopper/medium"]
    assert row["ours at 100%"] == row["transitions"]
    assert row["ours at 1%"] == round(row["transitions"] * 0.01)
    assert row["D4RL at 1%"] == 10_000 and -20 < row["data score"] < 120


def test_a_claim_sharing_a_grid_reads_the_owners_committed_runs() -> None:
    assert runs_owner("A2").id == "A1" and runs_owner("A1").id == "A1"
    assert all(c.grid is runs_owner(c).grid for c in CLAIMS if c.runs_of)  # the same runs
    assert results_dir("A2", "book") == results_dir("A1", "book")
    assert "A2" not in {c.id for c in claims_with_grids()}  # exported and verified once
    shared, owned = CommittedResults.load("A2", "smoke"), CommittedResults.load("A1", "smoke")
    assert shared is not None and owned is not None and shared.runs.keys() == owned.runs.keys()
    assert claim_status(get_claim("A2"), "smoke").detail == claim_status(get_claim("A1"),
                                                                          "smoke").detail


def test_only_some_variants_of_a_grid_can_be_planned_and_trained(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    assert {p.variant for p in plan(TINY, "smoke", store, only=("LN",))} == {"LN"}
    assert plan(TINY, "smoke", store, only=("LN", "plain")) == []
    trained = reproduce(TINY, "smoke", store=store, progress=False, only=("plain",))
    assert len(trained) == 2 and all(r.config.agent["critic"].get("norm") != "layernorm" for r in trained)
    assert [p.status for p in plan(TINY, "smoke", store)].count("todo") == 2
