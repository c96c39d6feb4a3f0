"""``seemrepro train`` / ``sweep`` / ``runs`` / ``options``: tiny runs through the store, help,
caching and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from seemrepro import cli
from seemrepro.cli import main, nest, parse_grid_values, parse_seeds, parse_value
from seemrepro.engine import MonitorConfig, versions
from seemrepro.rl.agents import make_config


def tiny(root: Path, steps: int = 20) -> list[str]:
    """Options of a run that takes a fraction of a second."""
    return ["--steps", str(steps), "--batch-size", "16", "--monitor", "seem_every=0",
            "--monitor", "q_every=10", "--runs", str(root), "--no-progress"]


def stored(root: Path, key: str) -> list:
    """``key`` (dotted) of every stored run's config.json, sorted."""
    values = []
    for path in root.glob("*/*/config.json"):
        node = json.loads(path.read_text())
        for part in key.split("."):
            node = node[part]
        values.append(tuple(node) if isinstance(node, list) else node)
    return sorted(values)


def train_td3(root: Path, hidden: str = "16,16") -> list[str]:
    return ["train", "td3", "--dataset", "synthetic/200", "--seeds", "0-1",
            "--set", f"critic.hidden={hidden}", *tiny(root)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two td3 runs (seeds 0, 1; hidden given as 16,16) and one iql run, via the CLI."""
    root = tmp_path_factory.mktemp("runs")
    assert main(train_td3(root)) == 0
    assert main(["train", "iql", "--dataset", "synthetic/200", "--set", "critic.hidden=[16]",
                 *tiny(root)]) == 0
    return root


def test_train_and_sweep_write_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--set", "critic.hidden=[16]", *tiny(tmp_path)]
    assert main(["train", "td3", "--dataset", "synthetic/200", "--seeds", "0-1", *common]) == 0
    assert main(["sweep", "iql", "--dataset", "synthetic/200", "--grid",
                 "critic.norm=none,layernorm", *common]) == 0
    out = capsys.readouterr().out
    assert out.count("seed 0:") == 3 and "critic.norm=layernorm" in out
    assert len(list(tmp_path.glob("*/*/summary.json"))) == 4
    assert stored(tmp_path, "agent.critic.norm") == ["layernorm", "none", "none", "none"]


@pytest.mark.parametrize("text", ["256,256", "[256,256]"])
def test_list_values_reach_the_critic_as_tuples(text: str) -> None:
    assert parse_value(text) == [256, 256]
    options = nest([("critic.hidden", parse_value(text))])
    assert make_config("td3", options).critic.hidden == (256, 256)


def test_parsing_helpers() -> None:
    assert parse_seeds("0-2") == [0, 1, 2] and parse_seeds("4,7") == [4, 7]
    assert nest([("critic.norm", "layernorm"), ("tau", 1.0)]) == {
        "critic": {"norm": "layernorm"}, "tau": 1.0}
    assert parse_value("1e-3") == 1e-3 and parse_value("layernorm") == "layernorm"
    # a grid axis splits only at top-level commas
    assert parse_grid_values("[16,16],[8]") == [[16, 16], [8]]
    assert parse_grid_values("none,layernorm") == ["none", "layernorm"]


def test_grid_sweeps_list_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int | None] = []
    monkeypatch.setattr(cli, "set_threads", threads.append)
    assert main(["sweep", "td3", "--dataset", "synthetic/200", "--grid",
                 "critic.hidden=[16,16],[8]", "--threads", "1", *tiny(tmp_path, 10)]) == 0
    assert stored(tmp_path, "agent.critic.hidden") == [(8,), (16, 16)]
    assert threads == [1]


def test_rerun_is_cached(store: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("trained again")

    monkeypatch.setattr("seemrepro.engine.loop.GroupRun", refuse)
    assert main(train_td3(store)) == 0
    # the bracketed spelling of the same list is the same run
    assert main(train_td3(store, "[16,16]")) == 0
    assert capsys.readouterr().out.count("(cached)") == 4
    assert stored(store, "agent.critic.hidden") == [(16,), (16, 16), (16, 16)]


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEMREPRO_THREADS", "3")
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("default: 100000", "default: 256", "default: 1.0", "seemrepro options",
                 "default here: 3"):
        assert text in " ".join(out.split()), text
    assert "default: None" not in out
    assert main(["--help"]) == 0
    assert "options" in capsys.readouterr().out


def test_options_lists_agent_and_monitor_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["options", "td3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    defaults = make_config("td3")
    for line in (f"critic.norm = {json.dumps(defaults.critic.norm)}",
                 f"tau = {json.dumps(defaults.tau)}",
                 f"checkpoint_every = {MonitorConfig().checkpoint_every}",
                 f"seem_every = {MonitorConfig().seem_every}"):
        assert f"  {line}" in lines, line


def td3(*options: str, dataset: str = "synthetic/200") -> list[str]:
    return ["train", "td3", "--dataset", dataset, *options]


@pytest.mark.parametrize("argv, present, absent", [
    (["train", "ddpg", "--dataset", "synthetic/200"], ["unknown algorithm"], []),
    (td3("--set", "lr=1"), ["unknown TD3Config option"], []),
    (td3("--monitor", "every=1"), ["unknown monitor"], []),
    (td3("--seeds", "3-1"), ["--seeds", "3-1"], []),
    (td3("--steps", "-5"), ["--steps", "-5"], []),
    (td3("--subset", "1.5"), ["--subset", "1.5"], []),
    (td3("--threads", "0"), ["--threads"], []),
    (td3(dataset="nosuch/thing-v0"), ["dataset"], []),
    (td3(dataset="rollout/Hoppr-v5/2000"), ["unknown environment 'Hoppr-v5'", "Hopper-v5"], []),
    (td3(dataset="seemrepro/hoper/medium-v0"), ["dataset family 'hoper'", "hopper, walker2d"],
     []),
    (td3(dataset="rollout/Hopper-v5"), ["rollout/<EnvId>/<steps>"], ["minari"]),
])
def test_errors_are_clear(argv: list[str], present: list[str], absent: list[str],
                          tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--runs", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("seemrepro: error: ")]
    assert len(errors) == 1, err
    for text in present:
        assert text in errors[0]
    for text in absent:
        assert text not in err
    assert not list(tmp_path.glob("*/*/config.json"))


def run_lines(capsys: pytest.CaptureFixture[str], store: Path, *args: str) -> list[str]:
    assert main(["runs", *args, "--runs", str(store)]) == 0
    return capsys.readouterr().out.splitlines()


def test_runs_lists_and_filters(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header, *rows = run_lines(capsys, store)
    assert header.split()[:4] == ["key", "algorithm", "dataset", "subset"]
    keys = {p.parent.name for p in store.glob("*/*/summary.json")}
    assert len(rows) == len(keys) == 3
    assert {row.split()[0] for row in rows} == keys
    assert sorted(row.split()[1] for row in rows) == ["iql", "td3", "td3"]
    assert all(row.split()[2] == "synthetic/200" and " done " in row for row in rows)
    _, *td3 = run_lines(capsys, store, "--filter", "algorithm=td3")
    assert len(td3) == 2 and all(row.split()[1] == "td3" for row in td3)
    _, seed1 = run_lines(capsys, store, "--filter", "algorithm=td3", "--filter", "seed=1")
    assert seed1.split()[4] == "1"
    assert run_lines(capsys, store, "--filter", "algorithm=sac") == []


def test_runs_filter_on_an_unknown_key_is_an_error(store: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--runs", str(store), "--filter", "algo=td3"]) == 2
    err = capsys.readouterr().err
    assert "unknown filter" in err and "'algo'" in err and "algorithm" in err


def test_runs_status_counts_and_lists_stale_runs(
        store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    (counts,) = run_lines(capsys, store, "status")
    assert counts == f"3 runs in {store}: 3 done"
    monkeypatch.setattr(versions, "ENGINE_VERSION", versions.ENGINE_VERSION + 1)
    counts, note, _, *stale = run_lines(capsys, store, "status", "--filter", "algorithm=td3")
    assert counts == f"2 runs in {store}: 2 stale-code" and "stale" in note
    assert len(stale) == 2 and all(" stale-code " in row for row in stale)


def test_claims_lists_every_claim_with_a_status_per_profile(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claims", "--thresholds"]) == 0
    out = capsys.readouterr().out
    for claim in ("T1", "T10", "N1", "A6"):
        assert f"\n{claim:>3} " in out or out.startswith(claim)
    assert "smoke" in out and "book" in out and "paper" in out
    assert "surge_rise" in out


def test_reproduce_dry_run_lists_runs_and_cost(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["reproduce", "T10", "--profile", "smoke", "--dry-run",
                 "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "hopper · no LN" in out and "walker2d · LN" in out and "1500" in out
    # a fresh run store: the committed results stand in for every run
    assert "4 runs, 4 done" in out and "committed; 0 updates to train" in out
    assert main(["reproduce", "T10", "--profile", "smoke", "--dry-run", "--only", "no LN",
                 "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "walker2d · LN" not in out and "2 runs, 2 done" in out
    monkeypatch.setenv("SEEMREPRO_RECOMPUTE", "1")
    assert main(["reproduce", "T10", "--profile", "smoke", "--dry-run",
                 "--runs", str(tmp_path)]) == 0
    assert "4 runs, 0 done" in capsys.readouterr().out
    assert not list(tmp_path.glob("*/*"))  # nothing trained


def test_results_replicate_then_verify_on_a_copy_of_the_committed_results(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from seemrepro.experiments.results import results_dir

    shutil.copytree(results_dir("N1", "smoke"), tmp_path / "N1" / "smoke")
    monkeypatch.setenv("SEEMREPRO_RESULTS", str(tmp_path))
    assert main(["results", "replicate", "N1", "--profile", "smoke"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    # replicated here, or skipped where the run was computed (it verifies against its record)
    assert re.search(r"^N1 +smoke .* (replicated: on |skipped: computed here)", line), line
    assert main(["results", "verify", "N1", "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert " match" in out and "1 runs checked: 1 agree or are skipped, 0 do not" in out


@pytest.mark.parametrize("argv, message", [
    (["reproduce", "T99"], "unknown claim 'T99'"),
    (["reproduce", "T1"], "claim T1 declares no training runs"),
    (["reproduce", "T10", "--only", "XYZ", "--dry-run"], "no run of T10 at book has a variant"),
    (["results", "export"], "name the claim(s) to export"),
    (["results", "verify", "--k", "0"], "expected a positive integer or 'all'"),
])
def test_claim_commands_fail_clearly(argv: list[str], message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_slurm_without_a_cluster_is_a_clear_error(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    if shutil.which("srun"):
        pytest.skip("this machine is a SLURM node")
    monkeypatch.setenv("SEEMREPRO_RECOMPUTE", "1")  # committed runs would leave nothing to submit
    assert main(["reproduce", "T6", "--profile", "smoke", "--executor", "slurm",
                 "--runs", str(tmp_path)]) == 2
    assert "cannot submit to cluster 'slurm'" in capsys.readouterr().err
    assert not list(tmp_path.glob("*/*/summary.json"))
