"""Engine benchmark machinery at tiny sizes: the grid, the measured structure, the report.

No timing thresholds: the benchmark itself prints its ratios and verdicts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from seemrepro.tools import bench
from seemrepro.tools import bench_engine as be

TINY = "synthetic/2000"


def test_grid_covers_subsets_and_seeds() -> None:
    configs = be.grid(7, dataset=TINY, subsets=(0.5, 1.0), seeds=(0, 1, 2), batch=32,
                      hidden=(8,))
    assert [(c.subset, c.seed) for c in configs] == [
        (x, s) for x in (0.5, 1.0) for s in (0, 1, 2)]
    c = configs[0].resolved()
    assert c.algorithm == "td3" and c.agent["bc_alpha"] == 2.5 and c.steps == 7
    assert c.agent["actor_hidden"] == [8] and c.agent["critic"]["hidden"] == [8]
    assert c.monitors.q_every == 7 and c.monitors.seem_every == 0
    # the default grid keeps the 256-256 defaults
    default = be.grid(5, dataset=TINY, subsets=(1.0,), seeds=(0,), batch=32)[0].resolved()
    assert default.agent["actor_hidden"] == [256, 256]
    assert default.agent["critic"]["hidden"] == [256, 256]


def test_grid_refuses_a_subset_smaller_than_a_batch() -> None:
    assert be.subset_sizes(TINY, (0.01, 1.0)) == {0.01: 20, 1.0: 2000}
    with pytest.raises(ValueError, match="fewer transitions than one batch"):
        be.grid(5, dataset=TINY, subsets=(0.01, 1.0), batch=32)


def test_default_subsets_hold_a_batch() -> None:
    # 1% of the 20,000-transition rollout would be 200 < 256: the grid uses 5% instead
    sizes = be.subset_sizes(be.DATASET, be.SUBSETS)
    assert min(sizes.values()) >= be.BATCH and len(be.grid(5)) == 12


def test_grouped_vs_sequential_structure() -> None:
    configs = be.grid(3, dataset=TINY, subsets=(0.5, 1.0), seeds=(0, 1), batch=32, hidden=(8,))
    out = be.grouped_vs_sequential(configs, device=torch.device("cpu"), threads=1, warmup=1,
                                   rounds=2)
    g, s = out["grouped"], out["sequential"]
    assert g["runs"] == s["runs"] == 4 and g["run_updates"] == s["run_updates"] == 12
    assert g["groups"] == 1 and s["groups"] == 4
    for m in (g, s):
        assert m["rate"] > 0 and m["loop_rate"] > 0 and m["wall_seconds"] > 0
        assert m["rate"] == pytest.approx(m["run_updates"] / m["wall_seconds"])
    assert out["ratio"] == pytest.approx(g["rate"] / s["rate"])
    assert out["loop_ratio"] == pytest.approx(g["loop_rate"] / s["loop_rate"])
    assert out["verdict"] in ("PASS", "FAIL") and out["target"] == be.TARGET_RATIO
    assert [len(out["per_round"][k]) for k in ("grouped", "sequential")] == [2, 2]
    assert g["rate"] == max(m["rate"] for m in out["per_round"]["grouped"])


def _results(gpu: bool) -> dict[str, Any]:
    def side(rate: float, groups: int) -> dict[str, Any]:
        return {"runs": 12, "groups": groups, "run_updates": 3000, "wall_seconds": 3000 / rate,
                "loop_seconds": 2900 / rate, "rate": rate, "loop_rate": rate * 1.03,
                "diverged": 0}

    meta = {"dataset": be.DATASET, "subsets": list(be.SUBSETS), "seeds": list(be.SEEDS),
            "gpu_seeds": list(be.GPU_SEEDS), "batch": be.BATCH, "steps": 250, "warmup": 20,
            "rounds": 2, "threads": 1}
    cpu = {"grouped": side(180.0, 1), "sequential": side(150.0, 12), "ratio": 1.2,
           "loop_ratio": 1.2, "target": be.TARGET_RATIO, "verdict": "PASS"}
    g = {**side(15000.0, 1), "runs": 52, "device": "H200", "steps": 2000,
         "target": be.TARGET_GPU_RATE, "verdict": "FAIL"} if gpu else None
    return {"meta": meta, "cpu": cpu, "gpu": g}


def test_report_lines() -> None:
    text = be.format_report(_results(gpu=False))
    assert "ratio grouped/sequential 1.20x (target >= 1.2x on CPU) PASS" in text
    assert "no GPU available" in text and "52-run GPU target" in text
    assert text.splitlines()[-1] == "SUMMARY engine: 1/1 targets PASS PASS"
    text = be.format_report(_results(gpu=True))
    assert "GPU H200: 52 runs" in text and "target >= 20000) FAIL" in text
    assert text.splitlines()[-1] == "SUMMARY engine: 1/2 targets PASS FAIL"


def test_bench_main_runs_the_engine_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    seen: dict[str, Any] = {}

    def fake_run(steps: int, **options: Any) -> dict[str, Any]:
        seen.update(steps=steps, **options)
        return _results(gpu=False)

    monkeypatch.setattr(be, "run", fake_run)
    out = tmp_path / "bench.json"
    assert bench.main(["--section", "engine", "--steps", "7", "--threads", "1",
                       "--json", str(out)]) == 0
    assert seen == {"steps": 7, "threads": 1}
    assert set(json.loads(out.read_text())) == {"engine"}
