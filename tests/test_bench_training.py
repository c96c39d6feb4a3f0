"""Training benchmark pieces that need no timing: FLOP counting, verdicts, the printed table."""

from __future__ import annotations

import inspect
import math

import pytest
import torch

from seemrepro import SEEMMonitor
from seemrepro.datasets.resolve import synthetic
from seemrepro.tools import bench_training as bt


def test_count_flops_of_a_matmul() -> None:
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    assert bt.count_flops(lambda: a @ b) == 2 * 8 * 16 * 4


def test_td3bc_update_flops_match_the_analytic_count() -> None:
    data = synthetic(1000, state_dim=11, action_dim=3)
    agent = bt.make_agent("td3bc", data, torch.device("cpu"))
    s, a, h, b = 11, 3, 256, bt.BATCH
    critic = 2 * b * ((s + a) * h + h * h + h)
    actor = 2 * b * (s * h + h * h + h * a)
    # critic step: target actor and critics, both critics forward and backward (no input grad
    # in the first layer); actor step (every other update): actor and critic forward, critic
    # backward for its input gradient (its weight gradients are optional: the critic is not
    # stepped), actor backward without its first input gradient
    critic_step = actor + 8 * critic - 4 * b * (s + a) * h
    actor_step = 3 * actor + 2 * critic - 2 * b * s * h
    counted = bt.update_flops(agent, data)
    lean, full = critic_step + actor_step / 2, critic_step + (actor_step + critic) / 2
    assert counted == pytest.approx(lean, rel=0.01) or counted == pytest.approx(full, rel=0.01)


def test_verdicts() -> None:
    assert bt.verdict(1.5, 1.5) == "PASS"
    assert bt.verdict(1.49, 1.5) == "FAIL"
    assert bt.verdict(0.05, 0.1, below=True) == "PASS"
    assert bt.verdict(0.1, 0.1, below=True) == "FAIL"
    assert bt.verdict(math.nan, 1.0) == "FAIL"


def _results(ours: float = 150.0, gpu: bool = False) -> dict:
    rows = bt.throughput_rows({"td3bc": ours, "cql": 12.0, "cql+bf16": 30.0},
                              {"td3bc": 60.0, "cql": 10.0}, {"td3bc": 80.0, "cql": 11.0})
    return {"meta": {"dataset": bt.DATASET, "threads": 2, "allocator_tuned": True},
            "throughput": rows,
            "batched": [{"algorithm": "td3bc", "seeds": 5, "batched": 300.0,
                         "sequential": 200.0, "ratio": 1.5, "verdict": "PASS"},
                        {"algorithm": "cql", "seeds": 5, "batched": 50.0, "sequential": 48.0,
                         "ratio": 50 / 48, "verdict": "FAIL"}],
            "flops": {"peak_flops": 1.5e11, "peak_by_size": {"4096x4096x4096": 1.5e11},
                      "per_algorithm": bt.flop_rows({"td3bc": 4.2e8, "cql": 6e9},
                                                    {"td3bc": ours, "cql": 12.0},
                                                    {"td3bc": 60.0, "cql": 10.0}, 1.5e11)},
            "seem": {"seem_seconds": 2.0, "interval": 10000, "samples": 2560,
                     "training_seconds_per_interval": 66.0, "share": 2.0 / 68.0,
                     "verdict": "PASS"},
            "diffusion": {"updates_per_second": 30.0, "td3bc_updates_per_second": ours,
                          "chain_share": 0.6, "denoise_steps": 5.0},
            "gpu": {"algorithm": "td3bc", "device": "H100", "seeds": 5, "batched": 5000.0,
                    "sequential": 1000.0, "ratio": 5.0, "verdict": "PASS"} if gpu else None}


def test_throughput_rows_and_report() -> None:
    results = _results()
    td3bc, cql, cql_bf16 = results["throughput"]
    assert td3bc["ratio"] == pytest.approx(2.5) and td3bc["verdict"] == "PASS"
    assert td3bc["ratio_tuned_malloc"] == pytest.approx(150 / 80)
    assert cql["ratio"] == pytest.approx(1.2) and cql["verdict"] == "FAIL"
    # the opt-in row is compared with d3rlpy's CQL, and its PASS stays out of the summary
    assert cql_bf16["ratio"] == pytest.approx(3.0) and cql_bf16["opt_in"]
    assert not cql["opt_in"]
    text = bt.format_report(results)
    assert "PASS (opt-in setting: shown, not in the summary)" in text
    assert "cql+bf16: cql with penalty_dtype=bfloat16" in text
    # CQL at 12 upd/s x 6 GFLOP = 72 GFLOP/s of 150: 48% of peak; at the peak 25 upd/s = 2.5x
    assert "48.0% of peak; at the peak 25 upd/s = 2.50x d3rlpy" in text
    assert "td3bc" in text and "2.50x" in text and "no GPU present" in text
    assert "cql        batched     50.0 vs sequential     48.0: 1.04x (target >= 1.2x) FAIL" in text
    assert text.splitlines()[-1] == "SUMMARY training: 3/5 targets PASS FAIL"
    assert "5. Diffusion-QL (T=5, 3x256 actor and critics): 30.0 upd/s, 0.20x" in text
    assert "denoising chains 60% of an update" in text


def test_report_with_a_gpu_line() -> None:
    text = bt.format_report(_results(gpu=True))
    assert "GPU H100" in text and "5.00x (target >= 4x) PASS" in text


def test_matmul_peak_is_positive() -> None:
    peak = bt.matmul_peak(torch.device("cpu"), repeats=1, sizes=((64, 64, 64),))
    assert peak["peak_flops"] > 0 and set(peak["by_size"]) == {"64x64x64"}


def test_batched_vs_sequential_runs() -> None:
    data = synthetic(500, state_dim=11, action_dim=3)
    out = bt.batched_vs_sequential("td3bc", data, steps=2, warmup=1, device=torch.device("cpu"),
                                   seeds=(0, 1))
    assert out["seeds"] == 2 and out["batched"] > 0 and out["sequential"] > 0


def test_public_monitor_share_returns_its_numbers_and_line() -> None:
    data = synthetic(400, state_dim=11, action_dim=3)
    out = bt.public_monitor_share(data, update_steps=2, warmup=1, repeats=1, samples=16)
    assert {"baseline", "every", "samples", "heads", "parameters", "batch", "monitor_seconds",
            "update_seconds", "engine_update_seconds", "share", "share_vs_engine", "target",
            "verdict"} <= set(out)
    assert out["samples"] == 16 and out["heads"] == 2 and out["batch"] == bt.BATCH
    assert out["every"] == inspect.signature(SEEMMonitor).parameters["every"].default
    t_mon, t_upd = out["monitor_seconds"], out["update_seconds"]
    assert t_mon > 0 and t_upd > 0 and out["engine_update_seconds"] > 0
    assert out["share"] == pytest.approx(t_mon / (t_mon + out["every"] * t_upd))
    assert out["verdict"] == bt.verdict(out["share"], 0.05, below=True)
    text = bt.format_public_monitor(out, "cpu (test, 1 threads)")
    assert "examples/corl_style_td3bc.py" in text
    assert text.splitlines()[-1].startswith("SUMMARY public monitor: ")
    assert text.endswith(("PASS", "FAIL"))


def test_diffusion_cost_measures_a_share_between_zero_and_one() -> None:
    data = bt.training_data(torch.device("cpu"))
    cost = bt.diffusion_cost(data, steps=2, warmup=1, repeats=1)
    assert cost["updates_per_second"] > 0 and 0 < cost["chain_share"] <= 1
    assert cost["denoise_steps"] == 5
