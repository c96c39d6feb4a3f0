"""Engine benchmark: a grid of runs trained as one batched group against one after another.

The grid is 12 TD3+BC runs (``RunConfig("td3", ..., agent={"bc_alpha": 2.5})``): 4 X% subsets
of ``rollout/Hopper-v5/20000`` (0.05, 0.1, 0.5, 1; 1% would be 200 transitions, under one batch
of 256) x 3 seeds, 256-256 actor and critics, batch 256, monitors minimal (Q at the first and
last step only, no SEEM, no store). Both sides go through the engine's entry point,
:func:`seemrepro.engine.loop.train_runs`, on CPU in this process: ``batched=True`` (the runs differ
only in seed and data, so they form one batched model) against ``batched=False`` (the same runs
in turn). Each side is warmed up once (a short untimed grid), then the sides alternate for
``rounds`` rounds and each keeps its best round (other processes on a shared machine only ever
slow a measurement down).

The rate is run-updates/s: runs x steps over the wall-clock time of the whole ``train_runs``
call (data preparation, model construction, monitors and training); the training loop's own
time (the runs' ``RunResult.seconds``) is reported next to it. With CUDA available, a group of
52 runs (4 subsets x 13 seeds) is also timed on the GPU against an absolute rate.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import torch

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.tools.bench_training import THREADS

DATASET = "rollout/Hopper-v5/20000"
SUBSETS = (0.05, 0.1, 0.5, 1.0)
SEEDS = (0, 1, 2)
GPU_SEEDS = tuple(range(13))  # 4 subsets x 13 seeds = 52 runs
BATCH = 256
STEPS = 250  # about 20 s per side on one CPU thread
WARMUP = 20
ROUNDS = 2
GPU_STEPS = 2000
GPU_WARMUP = 50
MAX_GROUP = 64
TARGET_RATIO = 1.2
TARGET_GPU_RATE = 20_000.0


def verdict(value: float, target: float) -> str:
    """``PASS`` when ``value`` is at least ``target`` (``FAIL`` when nothing was measured)."""
    return "PASS" if not math.isnan(value) and value >= target else "FAIL"


def subset_sizes(dataset: str, subsets: Sequence[float]) -> dict[float, int]:
    """Transitions in each X% subset of ``dataset`` (as :func:`seemrepro.datasets.subset`)."""
    from seemrepro.datasets.resolve import resolve_dataset

    size = len(resolve_dataset(dataset))
    return {x: size if x == 1.0 else max(1, round(x * size)) for x in subsets}


def grid(steps: int, *, dataset: str = DATASET, subsets: Sequence[float] = SUBSETS,
         seeds: Sequence[int] = SEEDS, batch: int = BATCH,
         hidden: Sequence[int] | None = None) -> list[RunConfig]:
    """The benchmark's runs: every subset x every seed, TD3+BC, Q monitored at the ends only.

    ``hidden`` replaces the 256-256 actor and critic (tests use tiny ones). A subset smaller
    than one batch is an error: every minibatch would repeat its transitions.
    """
    small = {x: n for x, n in subset_sizes(dataset, subsets).items() if n < batch}
    if small:
        raise ValueError(f"subsets {small} of {dataset} hold fewer transitions than one batch "
                         f"({batch})")
    agent: dict[str, Any] = {"bc_alpha": 2.5}
    if hidden is not None:
        agent.update(actor_hidden=list(hidden), critic={"hidden": list(hidden)})
    monitors = MonitorConfig(q_every=steps, seem_every=0, checkpoint_every=0)
    return [RunConfig("td3", dataset, seed=s, steps=steps, batch_size=batch, subset=x,
                      agent=agent, monitors=monitors)
            for x in subsets for s in seeds]


def with_steps(configs: Sequence[RunConfig], steps: int) -> list[RunConfig]:
    """The same runs, ``steps`` long (Q still only at their ends): the warm-up grid."""
    return [dataclasses.replace(c, steps=steps,
                                monitors=dataclasses.replace(c.monitors, q_every=steps))
            for c in configs]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(configs: Sequence[RunConfig], *, batched: bool, device: torch.device,
            threads: int, max_group: int = MAX_GROUP) -> dict[str, Any]:
    """Time one ``train_runs`` call over ``configs``; run-updates/s over its wall-clock time
    (``rate``) and over the training loops' own time (``loop_rate``)."""
    from seemrepro.engine.loop import batch_groups, train_runs

    updates = sum(c.steps for c in configs)
    _sync(device)
    start = time.perf_counter()
    results = train_runs(configs, batched=batched, max_group=max_group, progress=False,
                         threads=threads, device=device)
    _sync(device)
    wall = time.perf_counter() - start
    loop = sum(r.seconds for r in results)  # a group's time is split evenly over its runs
    groups = len(batch_groups([c.resolved() for c in configs], max_group)) if batched \
        else len(configs)
    return {"runs": len(configs), "groups": groups, "run_updates": updates,
            "wall_seconds": wall, "loop_seconds": loop, "rate": updates / wall,
            "loop_rate": updates / loop if loop > 0 else math.nan,
            "diverged": sum(r.diverged_at is not None for r in results)}


def grouped_vs_sequential(configs: Sequence[RunConfig], *, device: torch.device, threads: int,
                          warmup: int = WARMUP, rounds: int = ROUNDS,
                          max_group: int = MAX_GROUP) -> dict[str, Any]:
    """Run-updates/s of ``configs`` trained grouped (``batched=True``) and in turn
    (``batched=False``): both warmed up by a ``warmup``-step grid, then ``rounds`` alternating
    rounds, each side keeping its fastest."""
    if rounds <= 0:
        raise ValueError(f"rounds must be positive, got {rounds}")
    if warmup > 0:
        for batched in (True, False):
            measure(with_steps(configs, warmup), batched=batched, device=device,
                    threads=threads, max_group=max_group)
    per_round: dict[str, list[dict[str, Any]]] = {"grouped": [], "sequential": []}
    for _ in range(rounds):
        for name, batched in (("grouped", True), ("sequential", False)):
            per_round[name].append(measure(configs, batched=batched, device=device,
                                           threads=threads, max_group=max_group))
    grouped = max(per_round["grouped"], key=lambda m: m["rate"])
    sequential = max(per_round["sequential"], key=lambda m: m["rate"])
    ratio = grouped["rate"] / sequential["rate"]
    return {"grouped": grouped, "sequential": sequential, "ratio": ratio,
            "loop_ratio": grouped["loop_rate"] / sequential["loop_rate"],
            "target": TARGET_RATIO, "verdict": verdict(ratio, TARGET_RATIO),
            "per_round": per_round}


def gpu_group(steps: int = GPU_STEPS, warmup: int = GPU_WARMUP, *, dataset: str = DATASET,
              subsets: Sequence[float] = SUBSETS, seeds: Sequence[int] = GPU_SEEDS,
              threads: int = 1, max_group: int = MAX_GROUP) -> dict[str, Any] | None:
    """Run-updates/s of the ``len(subsets) x len(seeds)`` grid as one group on the GPU
    (``None`` without CUDA)."""
    if not torch.cuda.is_available():
        return None
    device = torch.device("cuda")
    configs = grid(steps, dataset=dataset, subsets=subsets, seeds=seeds)
    if warmup > 0:
        measure(with_steps(configs, warmup), batched=True, device=device, threads=threads,
                max_group=max_group)
    out = measure(configs, batched=True, device=device, threads=threads, max_group=max_group)
    out.update(device=torch.cuda.get_device_name(device), steps=steps,
               target=TARGET_GPU_RATE, verdict=verdict(out["rate"], TARGET_GPU_RATE))
    return out


def run(steps: int = STEPS, *, warmup: int = WARMUP, rounds: int = ROUNDS,
        threads: int | None = None, gpu_steps: int = GPU_STEPS,
        gpu_warmup: int = GPU_WARMUP) -> dict[str, Any]:
    """The whole section: the CPU comparison, then the GPU group when CUDA is available."""
    # by default the training section's setting: both cores of the 2-core reference machine
    threads = THREADS if threads is None else threads
    configs = grid(steps)
    cpu = grouped_vs_sequential(configs, device=torch.device("cpu"), threads=threads,
                                warmup=warmup, rounds=rounds)
    gpu = gpu_group(gpu_steps, gpu_warmup, threads=threads)
    return {"meta": {"dataset": DATASET, "subsets": list(SUBSETS),
                     "subset_sizes": {str(k): v for k, v in subset_sizes(DATASET,
                                                                         SUBSETS).items()},
                     "seeds": list(SEEDS), "gpu_seeds": list(GPU_SEEDS), "algorithm": "td3",
                     "agent": {"bc_alpha": 2.5}, "batch": BATCH, "hidden": [256, 256],
                     "steps": steps, "warmup": warmup, "rounds": rounds, "threads": threads,
                     "torch": torch.__version__,
                     "measure": "run-updates / wall-clock seconds of one train_runs call "
                                "(loop_rate: over the training loops' own time)"},
            "cpu": cpu, "gpu": gpu}


def format_report(results: dict[str, Any]) -> str:
    """The section's printed lines (one PASS/FAIL per target)."""
    meta, cpu, gpu = results["meta"], results["cpu"], results["gpu"]
    g, s = cpu["grouped"], cpu["sequential"]
    subsets = ", ".join(format(x, "g") for x in meta["subsets"])
    lines = [(f"== engine benchmark: {g['runs']} TD3+BC runs (subsets {subsets} of "
              f"{meta['dataset']} x seeds {', '.join(map(str, meta['seeds']))}), batch "
              f"{meta['batch']}, 256-256 networks, {meta['steps']} steps each, CPU, torch threads "
              f"{meta['threads']}, best of {meta['rounds']} alternating rounds after a "
              f"{meta['warmup']}-step warm-up"),
             (f"grouped    train_runs(batched=True,  {g['groups']} group(s)): "
              f"{g['rate']:9.1f} run-updates/s  ({g['wall_seconds']:.1f} s; training loop "
              f"alone {g['loop_rate']:.1f}/s)"),
             (f"sequential train_runs(batched=False, {s['groups']} runs in turn): "
              f"{s['rate']:9.1f} run-updates/s  ({s['wall_seconds']:.1f} s; training loop "
              f"alone {s['loop_rate']:.1f}/s)"),
             (f"ratio grouped/sequential {cpu['ratio']:.2f}x (target >= {cpu['target']:g}x on "
              f"CPU) {cpu['verdict']}  [training loops alone: {cpu['loop_ratio']:.2f}x]")]
    diverged = g["diverged"] + s["diverged"]
    if diverged:
        lines.append(f"note: {diverged} run(s) diverged during the timed grids")
    verdicts = [cpu["verdict"]]
    if gpu is None:
        lines.append("GPU: no GPU available (torch.cuda.is_available() is False); the "
                     f"{len(meta['subsets']) * len(meta['gpu_seeds'])}-run GPU target "
                     f"({TARGET_GPU_RATE:g} run-updates/s) was not measured")
    else:
        lines.append(f"GPU {gpu['device']}: {gpu['runs']} runs in {gpu['groups']} group(s), "
                     f"{gpu['steps']} steps: {gpu['rate']:.0f} run-updates/s (training loop "
                     f"alone {gpu['loop_rate']:.0f}/s; target >= {gpu['target']:g}) "
                     f"{gpu['verdict']}")
        verdicts.append(gpu["verdict"])
    lines.append(f"SUMMARY engine: {verdicts.count('PASS')}/{len(verdicts)} targets PASS "
                 f"{'PASS' if all(v == 'PASS' for v in verdicts) else 'FAIL'}")
    return "\n".join(lines)
