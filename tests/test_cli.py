"""``seemrepro train`` / ``sweep``: a tiny run through the store, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from seemrepro.cli import main, nest, parse_seeds


def test_train_and_sweep_write_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--steps", "20", "--batch-size", "16", "--set", "critic.hidden=[16]",
              "--monitor", "seem_every=0", "--monitor", "q_every=10", "--runs", str(tmp_path),
              "--no-progress"]
    assert main(["train", "td3", "--dataset", "synthetic/200", "--seeds", "0-1", *common]) == 0
    assert main(["sweep", "iql", "--dataset", "synthetic/200", "--grid",
                 "critic.norm=none,layernorm", *common]) == 0
    out = capsys.readouterr().out
    assert out.count("seed 0:") == 3 and "critic.norm=layernorm" in out
    assert len(list(tmp_path.glob("*/*/summary.json"))) == 4


@pytest.mark.parametrize("argv, message", [
    (["train", "ddpg", "--dataset", "synthetic/10"], "unknown algorithm"),
    (["train", "td3", "--dataset", "synthetic/10", "--set", "lr=1"], "unknown TD3Config option"),
    (["train", "td3", "--dataset", "synthetic/10", "--monitor", "every=1"], "unknown monitor"),
    (["train", "td3", "--dataset", "nosuch/thing-v0", "--steps", "2"], "dataset"),
])
def test_errors_are_clear(argv: list[str], message: str, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--runs", str(tmp_path), "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_helpers() -> None:
    assert parse_seeds("0-2") == [0, 1, 2] and parse_seeds("4,7") == [4, 7]
    assert nest([("critic.norm", "layernorm"), ("tau", 1.0)]) == {
        "critic": {"norm": "layernorm"}, "tau": 1.0}
