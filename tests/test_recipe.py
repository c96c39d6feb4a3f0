"""Choosing a behaviour run's medium snapshot and the medium-replay actors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from seemrepro.datasets.generate import DATASET_VERSIONS
from seemrepro.datasets.recipe import MEDIUM_RULES, RECIPE_RULES, choose_medium, replay_phases


def snaps(returns: list[float], every: int = 5000, first: int = 10_000) -> list[dict[str, Any]]:
    return [{"step": first + k * every, "eval_return_mean": r} for k, r in enumerate(returns)]


# an early lucky evaluation (300 at 20k) before training really gets near the target of 330
RUN = snaps([10, 300, 100, 120, 150, 200, 310, 900, 1000])


def test_closest_rule_can_pick_an_early_lucky_snapshot() -> None:
    assert choose_medium(RUN, 330.0, "closest")["step"] == 40_000  # 310, not 300 at 15k
    assert choose_medium(RUN, 302.0, "closest")["step"] == 15_000


def test_crossing_rule_stops_where_training_first_gets_there() -> None:
    assert choose_medium(RUN, 302.0, "crossing")["step"] == 40_000  # 310, the first to reach it
    assert choose_medium(RUN, 600.0, "crossing")["step"] == 40_000  # 310 is closer than 900
    assert choose_medium(RUN, 800.0, "crossing")["step"] == 45_000


def test_an_unreached_target_takes_the_closest_of_the_last_snapshots() -> None:
    assert choose_medium(RUN, 5000.0, "crossing")["step"] == 50_000
    with pytest.raises(ValueError, match="unknown medium rule"):
        choose_medium(RUN, 300.0, "latest")


def test_replay_phases_cover_every_step_before_medium() -> None:
    run = snaps([0.0] * 45)  # snapshots at 10k, 15k, ..., 230k
    medium = 230_000
    full = replay_phases(run, medium)
    assert [s["step"] for s, _ in full] == list(range(10_000, medium, 5000))
    assert {n for _, n in full} == {5000}
    capped = replay_phases(run, medium, max_actors=6)
    assert len(capped) <= 6
    assert sum(n for _, n in capped) == sum(n for _, n in full) == medium - 10_000
    assert capped[0][0]["step"] == 10_000 and capped[1][0]["step"] == 10_000 + 8 * 5000
    assert replay_phases(run, 10_000, max_actors=6) == []
    with pytest.raises(ValueError, match="at least 1"):
        replay_phases(run, medium, max_actors=0)


def test_behaviour_table_lists_each_committed_recipe() -> None:
    from seemrepro.datasets.behaviour import LOCOMOTION_ENVS
    from seemrepro.datasets.generate import has_recipe
    from seemrepro.datasets.summary import behaviour_table

    table = behaviour_table(["v0", "v1"])
    expected = [(e, v) for v in ("v0", "v1") for e in LOCOMOTION_ENVS if has_recipe(e, v)]
    assert list(table.index) == expected and len(expected) >= 4
    assert (table.loc[[k for k in expected if k[1] == "v0"], "algorithm"] == "TD3").all()
    share = table["share of D4RL expert"]
    assert ((share > 0) & (share < 2)).all()
    assert (table["medium eval return"] < table["expert eval return"]).all()


def test_every_dataset_version_has_recipe_rules() -> None:
    assert set(RECIPE_RULES) == set(DATASET_VERSIONS)
    assert all(rule in MEDIUM_RULES and (cap is None or cap > 0)
               for rule, cap in RECIPE_RULES.values())


def test_recipe_cli_names_an_unknown_environment_and_a_missing_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from seemrepro.datasets.recipe import main

    with pytest.raises(SystemExit) as unknown:
        main(["Foo-v5"])
    assert unknown.value.code == 2 and "unknown environment(s) Foo-v5" in capsys.readouterr().err
    with pytest.raises(SystemExit) as missing:
        main(["Hopper-v5", "--from", str(tmp_path), "--version", "v1"])
    assert missing.value.code == 1
    assert "no behaviour run in" in capsys.readouterr().err
