"""Benchmarks: ``seem()`` against the brute-force reference, and training throughput.

Run as ``python -m seemrepro.tools.bench [--section seem|monitor|training|engine|all]
[--json PATH]``. The monitor section times the public :class:`seemrepro.SEEMMonitor` at its
defaults against the training step of ``examples/corl_style_td3bc.py``
(:func:`seemrepro.tools.bench_training.public_monitor_share`). The
training section (:mod:`seemrepro.tools.bench_training`) compares our agents with d3rlpy's and needs
``.venv-bench`` (``make bench-venv``); the engine section (:mod:`seemrepro.tools.bench_engine`)
compares a grid of runs trained as one batched group with the same runs trained in turn.

SEEM section: a 3x256 critic on 14-dimensional (s, a) inputs is first
trained for a while by TD on random data with no target network (so SEEM is clearly positive);
then each method runs in its own subprocess on the same saved critic and data, so that its peak
resident memory (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from seemrepro.core.critics import make_critic, parameter_count
from seemrepro.core.seem import SEEM, find_rightmost, seem, seem_matrix, seem_reference
from seemrepro.runtime import default_device, describe_device

INPUT_DIM = 14
HIDDEN = (256, 256, 256)
GAMMA = 0.99
TARGET_RATIO = 20.0
TARGET_REL_DIFF = 1e-4


def make_problem(m: int, *, train_steps: int, seed: int = 0) -> dict[str, Any]:
    """Critic trained by TD (bootstrap from itself, no target network) on random transitions."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(m, INPUT_DIM, generator=generator)
    x_next = x + 0.1 * torch.randn(m, INPUT_DIM, generator=generator)
    rewards = torch.randn(m, generator=generator)
    critic = make_critic(INPUT_DIM, HIDDEN, seed=seed)
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3)
    for _ in range(train_steps):
        batch = torch.randint(0, m, (256,), generator=generator)
        with torch.no_grad():
            target = rewards[batch] + GAMMA * critic(x_next[batch])
        loss = ((critic(x[batch]) - target) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return {"state": critic.state_dict(), "x": x, "x_next": x_next}


def _max_rss_mib() -> float:
    # Linux reports kibibytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_worker(method: str, problem_path: Path, device: torch.device, repeats: int) -> None:
    """Time one method in this process and print one JSON line."""
    problem = torch.load(problem_path, weights_only=True)
    critic = make_critic(INPUT_DIM, HIDDEN).to(device)
    critic.load_state_dict(problem["state"])
    x, x_next = problem["x"].to(device), problem["x_next"].to(device)
    rss_before = _max_rss_mib()
    times: list[float] = []
    result: SEEM | None = None
    eigen_path = "dense"
    split: dict[str, float] = {}
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        if method == "library":
            result = seem(critic, x, x_next, GAMMA)
        else:
            result = seem_reference(critic, x, x_next, GAMMA)
        _sync(device)
        times.append(time.perf_counter() - start)
    assert result is not None
    if method == "library":
        # Where seem()'s time goes, and which eigen path it took (outside the timed runs).
        _sync(device)
        start = time.perf_counter()
        a = seem_matrix(critic, x, x_next, GAMMA)
        _sync(device)
        split["gram"] = time.perf_counter() - start
        start = time.perf_counter()
        eigen_path = find_rightmost(a).method
        split["eigen"] = time.perf_counter() - start
    print(json.dumps({
        "method": method, "times": times, "raw": result.raw, "normalized": result.normalized,
        "frobenius": result.frobenius, "eigenvalue": [result.eigenvalue.real,
                                                      result.eigenvalue.imag],
        "rss_before_mib": rss_before, "peak_rss_mib": _max_rss_mib(), "eigen_path": eigen_path,
        "split": split,
    }))


def _spawn(method: str, problem_path: Path, device: str, repeats: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "seemrepro.tools.bench", "--worker", method, "--problem",
           str(problem_path), "--device", device, "--repeats", str(repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{method} worker failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run_seem(args: argparse.Namespace) -> dict[str, Any]:
    """The SEEM section: prints its lines and returns its numbers."""
    m = 256 if args.quick else args.m
    steps = 50 if args.quick else args.train_steps
    print(f"device: {describe_device(torch.device(args.device))}; torch {torch.__version__}; "
          f"cpu cores {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        problem_path = Path(tmp) / "problem.pt"
        problem = make_problem(m, train_steps=steps)
        torch.save(problem, problem_path)
        critic = make_critic(INPUT_DIM, HIDDEN)
        print(f"problem: M={m}, critic {INPUT_DIM}->{'x'.join(map(str, HIDDEN))}->1 "
              f"(P={parameter_count(critic)}), TD-trained {steps} steps, gamma={GAMMA}")
        lib = _spawn("library", problem_path, args.device, args.repeats)
        ref = _spawn("reference", problem_path, args.device, 1)

    lib_time = statistics.median(lib["times"])
    ref_time = statistics.median(ref["times"])
    ratio = ref_time / lib_time
    rel_diff = abs(lib["raw"] - ref["raw"]) / ref["frobenius"]
    for name, res, t in (("library seem()", lib, lib_time), ("seem_reference()", ref, ref_time)):
        print(f"{name:18s} time {t:8.3f} s  (runs: {', '.join(f'{x:.3f}' for x in res['times'])})"
              f"  peak RSS {res['peak_rss_mib']:8.1f} MiB (before compute "
              f"{res['rss_before_mib']:.1f})  raw SEEM {res['raw']:.6e}  "
              f"normalized {res['normalized']:.6e}")
    print(f"library eigen path: {lib['eigen_path']}; one call split (untimed run): NTK Gram "
          f"matrix {lib['split']['gram']:.3f} s, rightmost eigenvalue "
          f"{lib['split']['eigen']:.3f} s")
    print(f"||A||_F = {ref['frobenius']:.6e}; |raw diff| / ||A||_F = {rel_diff:.3e}")
    ok = ratio >= TARGET_RATIO and rel_diff < TARGET_REL_DIFF
    print(f"SUMMARY ratio={ratio:.1f}x (target >= {TARGET_RATIO:.0f}x) "
          f"rel_diff={rel_diff:.2e} (target < {TARGET_REL_DIFF:.0e}) "
          f"{'PASS' if ok else 'FAIL'}")
    return {"m": m, "library": lib, "reference": ref, "ratio": ratio, "rel_diff": rel_diff,
            "verdict": "PASS" if ok else "FAIL"}


def run_public_monitor(*, quick: bool) -> dict[str, Any]:
    """The public-monitor section: ``SEEMMonitor``'s share of a user's TD3+BC loop, on CPU with
    this process's default threads (``$SEEMREPRO_THREADS``)."""
    from seemrepro.runtime import set_threads
    from seemrepro.tools import bench_training

    threads = set_threads()
    cpu = torch.device("cpu")
    steps, warmup, repeats, rounds = (5, 1, 1, 1) if quick else (300, 30, 5, 3)
    result = bench_training.public_monitor_share(
        bench_training.training_data(cpu), update_steps=steps, warmup=warmup, repeats=repeats,
        rounds=rounds)
    result.update(threads=threads, device=describe_device(cpu))
    print(bench_training.format_public_monitor(result, result["device"]))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("seem", "monitor", "training", "engine", "all"),
                        default="all")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--m", type=int, default=2560, help="number of samples M")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke check")
    parser.add_argument("--device", default=str(default_device()))
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="library timing repeats")
    parser.add_argument("--steps", type=int, default=None,
                        help="engine section: training steps of each run (default "
                             "bench_engine.STEPS; --quick: 10)")
    parser.add_argument("--threads", type=int, default=None,
                        help="engine section: torch threads (default: 2, as in the training "
                             "section)")
    parser.add_argument("--worker", choices=("library", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--problem", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.problem, torch.device(args.device), args.repeats)
        return 0

    results: dict[str, Any] = {}
    if args.section in ("seem", "all"):
        results["seem"] = run_seem(args)
    if args.section in ("monitor", "all"):
        results["monitor"] = run_public_monitor(quick=args.quick)
    if args.section in ("training", "all"):
        from seemrepro.tools import bench_training

        plan = bench_training.Plan.quick() if args.quick else bench_training.Plan()
        training = bench_training.run(plan)
        print(bench_training.format_report(training))
        results["training"] = training
    if args.section in ("engine", "all"):
        from seemrepro.tools import bench_engine

        quick = {"warmup": 2, "rounds": 1, "gpu_steps": 20, "gpu_warmup": 2} if args.quick else {}
        steps = args.steps or (10 if args.quick else bench_engine.STEPS)
        engine = bench_engine.run(steps, threads=args.threads, **quick)
        print(bench_engine.format_report(engine))
        results["engine"] = engine
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
