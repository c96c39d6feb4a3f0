"""Training benchmark: update throughput against d3rlpy, batched seeds, FLOP rate, SEEM cost.

Every ratio comes from measurements taken in one run on one machine, in ``Plan.rounds`` rounds
that interleave the two sides (each rate is the best of its rounds: other processes on a shared
machine only ever slow a measurement down), with
two torch threads on both sides, the same dataset (``rollout/Hopper-v5/20000``), batch 256
and 256-256 networks:

1. updates/s of TD3+BC, IQL and CQL, one seed: ours (batch sampling + ``agent.update``, the
   engine's inner loop) at their defaults against d3rlpy 2.8.1's ``fit`` (``n_steps`` with no logging, progress
   bar or evaluation, timed after an untimed warm-up ``fit`` that built the model; its batch
   sampling is included, as in ours). d3rlpy runs in ``.venv-bench`` (:mod:`seemrepro.tools.peer`),
   once as a user runs it and once with the glibc allocator settings of
   :func:`seemrepro.runtime.tune_allocator` (which our engine applies); the verdict compares
   against the first. Opt-in settings of ours (:data:`OPT_IN`: CQL with its bfloat16 penalty)
   get their own rows against the same d3rlpy rate; they are shown, not counted in the summary.
2. for each of those algorithms, N = 5 seeds as one batched agent against 5 single-seed agents
   trained one after another (seed-updates/s);
3. for each algorithm, the FLOP rate of its update (counted by ``FlopCounterMode``) over this
   machine's float32 matmul peak, measured in the same run, and the ratio to d3rlpy that the
   update would reach at that peak: an update already near it (CQL's) cannot get much faster
   in float32, whatever the code around it;
4. the SEEM monitor's share of training time at :class:`~seemrepro.engine.MonitorConfig`'s
   defaults: one monitor call timed, scaled by its interval;
5. Diffusion-QL (ours only: d3rlpy has no diffusion policy): updates/s at its defaults against
   TD3+BC's in the same round, and the share of an update spent in the reverse denoising
   chain (the target policy's no-grad sampling of ``a'`` plus the actor's differentiated
   chain, timed apart; :func:`diffusion_cost`). Informational: no target.

The public monitor's share of a user's own loop (:func:`public_monitor_share`, printed by the
``monitor`` section of :mod:`seemrepro.tools.bench`) is measured apart, on the default threads.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from seemrepro.datasets.resolve import resolve_dataset
from seemrepro.rl.agents import Agent, agent_class, make_config
from seemrepro.rl.buffers import Batch, TransitionBuffer
from seemrepro.tools import peer

ALGORITHMS = ("td3bc", "iql", "cql")
# Our opt-in settings timed beside the defaults: row name -> (algorithm, config options)
OPT_IN: dict[str, tuple[str, dict[str, Any]]] = {
    "cql+bf16": ("cql", {"penalty_dtype": "bfloat16"})}
DATASET = "rollout/Hopper-v5/20000"
THREADS = 2
BATCH = 256
SEEDS = (0, 1, 2, 3, 4)
TARGET_VS_D3RLPY = 1.5
TARGET_BATCHED = 1.2
TARGET_BATCHED_GPU = 4.0
TARGET_SEEM_SHARE = 0.10
PEAK_SIZES = ((4096, 4096, 4096), (2048, 2048, 2048), (1024, 1024, 1024), (256, 256, 256),
              (256, 256, 256))


@dataclass(frozen=True)
class Plan:
    """How many updates each measurement times (``quick``: seconds, for tests)."""

    steps: dict[str, int] = field(default_factory=lambda: {"td3bc": 400, "iql": 400, "cql": 80})
    warmup: dict[str, int] = field(default_factory=lambda: {"td3bc": 50, "iql": 50, "cql": 20})
    batched_steps: dict[str, int] = field(
        default_factory=lambda: {"td3bc": 150, "iql": 150, "cql": 20})
    diffusion_steps: int = 60
    rounds: int = 3
    seem_repeats: int = 2
    peak_repeats: int = 3

    @classmethod
    def quick(cls) -> Plan:
        return cls(steps={"td3bc": 20, "iql": 20, "cql": 6},
                   warmup={"td3bc": 4, "iql": 4, "cql": 2},
                   batched_steps={"td3bc": 6, "iql": 6, "cql": 2}, diffusion_steps=3, rounds=1,
                   seem_repeats=1, peak_repeats=1)


def verdict(value: float, target: float, *, below: bool = False) -> str:
    """``PASS`` when ``value`` meets ``target`` (at least, or under it when ``below``)."""
    if math.isnan(value):  # nothing measured
        return "FAIL"
    return "PASS" if (value < target if below else value >= target) else "FAIL"


# -- our side -----------------------------------------------------------------------------------
def training_data(device: torch.device) -> TransitionBuffer:
    """The benchmark's dataset, state-normalized as the training engine does."""
    from seemrepro.engine.config import RunConfig
    from seemrepro.engine.data import prepare

    return prepare(RunConfig("td3bc", DATASET), device).data


def make_agent(algorithm: str, data: TransitionBuffer, device: torch.device,
               seeds: Sequence[int] | None = None, options: dict[str, Any] | None = None
               ) -> Agent:
    cls = agent_class(algorithm)
    return cls(data.state_dim, data.action_dim, make_config(algorithm, options), seed=0,
               seeds=list(seeds) if seeds is not None else None, device=device)


def stack(batches: list[Batch]) -> Batch:
    return Batch(*[torch.stack([getattr(b, f.name) for b in batches])
                   for f in dataclasses.fields(Batch)])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_updates(agent: Agent, data: TransitionBuffer, steps: int, warmup: int,
                  generators: list[torch.Generator]) -> float:
    """Seconds for ``steps`` (sample + update) steps after ``warmup`` untimed ones."""
    def one() -> None:
        batches = [data.sample(BATCH, g) for g in generators]
        agent.update(stack(batches) if agent.batched else batches[0])

    for _ in range(warmup):
        one()
    _sync(agent.device)
    start = time.perf_counter()
    for _ in range(steps):
        one()
    _sync(agent.device)
    return time.perf_counter() - start


def batched_vs_sequential(algorithm: str, data: TransitionBuffer, steps: int, warmup: int,
                          device: torch.device, seeds: Sequence[int] = SEEDS
                          ) -> dict[str, Any]:
    """Seed-updates/s of one batched agent over ``seeds`` and of single agents in turn."""
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    agent = make_agent(algorithm, data, device, seeds)
    batched = len(seeds) * steps / timed_updates(agent, data, steps, warmup, gens)
    seconds = 0.0
    for s, g in zip(seeds, gens, strict=True):
        single = make_agent(algorithm, data, device)
        single.generators[0].manual_seed(s)
        seconds += timed_updates(single, data, steps, warmup, [g])
    sequential = len(seeds) * steps / seconds
    return {"seeds": len(seeds), "batched": batched, "sequential": sequential,
            "ratio": batched / sequential}


# -- FLOPs ---------------------------------------------------------------------------------------
def count_flops(fn: Callable[[], Any]) -> int:
    """Floating-point operations (2 per multiply-add) of the matmuls/convolutions ``fn`` runs."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def update_flops(agent: Agent, data: TransitionBuffer, updates: int = 2) -> float:
    """FLOPs of one update, averaged over ``updates`` (TD3's actor steps every other one)."""
    g = torch.Generator().manual_seed(1)

    def run() -> None:
        for _ in range(updates):
            agent.update(data.sample(BATCH, g))

    return count_flops(run) / updates


def matmul_peak(device: torch.device, repeats: int = 3,
                sizes: Sequence[tuple[int, int, int]] = PEAK_SIZES) -> dict[str, Any]:
    """Best float32 matmul rate (FLOP/s) over a few large and 256-sized products."""
    best = 0.0
    rates: dict[str, float] = {}
    for m, k, n in sizes:
        a = torch.randn(m, k, device=device)
        b = torch.randn(k, n, device=device)
        inner = max(1, int(2e9 // (2 * m * k * n)))  # about 2 GFLOP per timing
        torch.mm(a, b)
        times = []
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            for _ in range(inner):
                torch.mm(a, b)
            _sync(device)
            times.append((time.perf_counter() - start) / inner)
        rate = 2 * m * k * n / min(times)
        rates[f"{m}x{k}x{n}"] = max(rate, rates.get(f"{m}x{k}x{n}", 0.0))
        best = max(best, rate)
    return {"peak_flops": best, "by_size": rates}


# -- SEEM monitor -------------------------------------------------------------------------------
def seem_share(agent: Agent, data: TransitionBuffer, update_rate: float, repeats: int
               ) -> dict[str, float]:
    """Time one SEEM monitor call at the default M; share = t / (t + interval / update rate)."""
    from seemrepro.engine.config import MonitorConfig
    from seemrepro.engine.data import monitor_set
    from seemrepro.engine.monitors import RunView, SEEMMonitor

    mon = MonitorConfig()
    view = RunView(agent, 0, 0, monitor_set(data, mon.seem_samples, 0), None,  # type: ignore[arg-type]
                   mon)
    monitor = SEEMMonitor(mon.seem_every)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        monitor(view, 0)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    training = mon.seem_every / update_rate
    return {"seem_seconds": seconds, "interval": mon.seem_every, "samples": mon.seem_samples,
            "training_seconds_per_interval": training, "share": seconds / (seconds + training)}


# -- the public SEEMMonitor in a user's own loop ---------------------------------------------------
#: The user's own loop the public monitor's cost is compared with (the book's integration example).
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "corl_style_td3bc.py"
TARGET_PUBLIC_MONITOR_SHARE = 0.05


def load_example(path: Path = EXAMPLE) -> ModuleType:
    """The CORL-style example as a module (it lives outside the package, next to it)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"the CORL-style example is missing: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class CorlStyleLoop:
    """The training step of ``examples/corl_style_td3bc.py`` on the example's own networks.

    One :meth:`step` samples a batch, steps both critics and, every ``POLICY_EVERY`` steps, the
    actor and the soft target updates: what a user's TD3+BC loop does between monitor calls.
    """

    example: ModuleType
    data: TransitionBuffer
    alpha: float = 2.5
    seed: int = 0

    def __post_init__(self) -> None:
        ex, s_dim, a_dim = self.example, self.data.state_dim, self.data.action_dim
        torch.manual_seed(self.seed)
        device = self.data.states.device
        self.actor = ex.Actor(s_dim, a_dim).to(device)
        self.q1, self.q2 = ex.Critic(s_dim, a_dim).to(device), ex.Critic(s_dim, a_dim).to(device)
        self.targets = [copy.deepcopy(m) for m in (self.actor, self.q1, self.q2)]
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=ex.LR)
        self.critic_opt = torch.optim.Adam([*self.q1.parameters(), *self.q2.parameters()],
                                           lr=ex.LR)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.steps = 0

    def step(self) -> None:
        ex = self.example
        actor_target, q1_target, q2_target = self.targets
        b = self.data.sample(ex.BATCH, self.generator)
        with torch.no_grad():
            noise = (torch.randn_like(b.actions) * ex.POLICY_NOISE).clamp(-ex.NOISE_CLIP,
                                                                          ex.NOISE_CLIP)
            a2 = (actor_target(b.next_states) + noise).clamp(-1.0, 1.0)
            x2 = torch.cat([b.next_states, a2], dim=1)
            target = b.rewards + ex.GAMMA * (1 - b.dones) * torch.min(q1_target(x2),
                                                                       q2_target(x2))
        x = torch.cat([b.states, b.actions], dim=1)
        critic_loss = F.mse_loss(self.q1(x), target) + F.mse_loss(self.q2(x), target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        if self.steps % ex.POLICY_EVERY == 0:
            pi = self.actor(b.states)
            q = self.q1(torch.cat([b.states, pi], dim=1))
            actor_loss = -self.alpha / q.abs().mean().detach() * q.mean() \
                + F.mse_loss(pi, b.actions)
            self.actor_opt.zero_grad()
            actor_loss.backward()
            self.actor_opt.step()
            for target_net, net in zip(self.targets, (self.actor, self.q1, self.q2), strict=True):
                ex.soft_update(target_net, net)
        self.steps += 1


def seconds_per_step(step: Callable[[], None], steps: int, device: torch.device) -> float:
    """Mean seconds of one ``step()`` over ``steps`` calls."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - start) / steps


def public_monitor_share(data: TransitionBuffer, *, update_steps: int, warmup: int,
                         repeats: int, rounds: int = 1, samples: int | None = None,
                         example: ModuleType | None = None) -> dict[str, Any]:
    """Share of training time :class:`seemrepro.SEEMMonitor` takes at its defaults.

    The monitor watches the twin critics of a :class:`CorlStyleLoop` (the user's own loop, the
    baseline); in each of ``rounds`` rounds ``update_steps`` loop steps are timed, then
    ``repeats`` monitor measurements (their median); the best round of each counts. share =
    t_monitor / (t_monitor + every × t_update), ``every`` and M the monitor's defaults
    (``samples`` overrides M, for tests only). The engine's TD3+BC update (its inner loop;
    a faster update would mean a larger share) is timed in the same rounds and reported
    alongside, not judged.
    """
    from seemrepro import SEEMMonitor

    device = data.states.device
    loop = CorlStyleLoop(example or load_example(), data)
    extra: dict[str, Any] = {} if samples is None else {"samples": samples}
    monitor = SEEMMonitor((loop.q1, loop.q2), data.states, data.actions, data.next_states,
                          loop.actor, gamma=loop.example.GAMMA, **extra)
    agent = make_agent("td3bc", data, device)
    generator = [torch.Generator().manual_seed(0)]
    for _ in range(warmup):
        loop.step()
    monitor.measure(0)  # untimed first call
    t_update, t_engine, t_monitor = math.inf, math.inf, math.inf
    for r in range(rounds):
        t_update = min(t_update, seconds_per_step(loop.step, update_steps, device))
        t_engine = min(t_engine, timed_updates(agent, data, update_steps,
                                               warmup if r == 0 else 0, generator) / update_steps)
        times = []
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            monitor.measure(loop.steps)
            _sync(device)
            times.append(time.perf_counter() - start)
        t_monitor = min(t_monitor, statistics.median(times))
    every = monitor.every
    share = t_monitor / (t_monitor + every * t_update)
    return {"baseline": "examples/corl_style_td3bc.py", "every": every,
            "samples": int(monitor.states.shape[0]), "heads": len(monitor.heads),
            "parameters": monitor.parameter_counts[0], "batch": loop.example.BATCH,
            "monitor_seconds": t_monitor, "update_seconds": t_update,
            "engine_update_seconds": t_engine, "share": share,
            "share_vs_engine": t_monitor / (t_monitor + every * t_engine),
            "target": TARGET_PUBLIC_MONITOR_SHARE,
            "verdict": verdict(share, TARGET_PUBLIC_MONITOR_SHARE, below=True)}


def format_public_monitor(result: dict[str, Any], device: str, dataset: str = DATASET) -> str:
    """The public-monitor section's lines, ending in one PASS/FAIL."""
    r = result
    t_mon, t_upd = r["monitor_seconds"], 1e3 * r["update_seconds"]
    header = (f"== public SEEM monitor overhead: seemrepro.SEEMMonitor at its defaults "
              f"(M={r['samples']}, every={r['every']} steps), {r['heads']} critic heads 256-256 "
              f"(P={r['parameters']} each), batch {r['batch']}, {dataset}, {device}")
    baseline = (f"baseline (a user's own loop): the training step of {r['baseline']}; the "
                "engine's TD3+BC update shown for reference")
    detail = (f"monitor {t_mon:.3f} s per call; update {t_upd:.2f} ms (engine "
              f"{1e3 * r['engine_update_seconds']:.2f} ms, share vs it "
              f"{100 * r['share_vs_engine']:.2f}%)")
    summary = (f"SUMMARY public monitor: {t_mon:.3f} s / ({t_mon:.3f} s + {r['every']} x "
               f"{t_upd:.2f} ms) = {100 * r['share']:.2f}% of training time (target < "
               f"{100 * r['target']:g}%) {r['verdict']}")
    return f"{header}\n{baseline}\n{detail}\n{summary}"


# -- d3rlpy side --------------------------------------------------------------------------------
def d3rlpy_rates(data: TransitionBuffer, plan: Plan, *, tuned_allocator: bool
                 ) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="seemrepro-bench-") as tmp:
        path = peer.export_transitions(data, Path(tmp) / "data.npz")
        spec = {"mode": "bench", "data": str(path), "steps": plan.steps,
                "warmup": max(plan.warmup.values()), "hidden": [256, 256],
                "options": {a: {**peer.d3rlpy_options(a), "batch_size": BATCH}
                            for a in plan.steps}}
        answer = peer.run_worker(spec, tuned_allocator=tuned_allocator, threads=THREADS)
    return {k: float(v) for k, v in answer["rates"].items()}


def diffusion_cost(data: TransitionBuffer, steps: int, warmup: int, repeats: int = 5
                   ) -> dict[str, float]:
    """Diffusion-QL's updates/s and the share of one update that its denoising chains take."""
    from seemrepro.rl.agents.diffql import DiffQL

    agent = make_agent("diffql", data, data.states.device)
    assert isinstance(agent, DiffQL)
    generator = torch.Generator().manual_seed(0)
    seconds = timed_updates(agent, data, steps, warmup, [generator])
    batch = data.sample(BATCH, generator)

    def chains() -> None:
        with torch.no_grad():
            agent.sample(agent.actor_target, batch.next_states)
        agent.sample(agent.actor, batch.states).sum().backward()
        agent.actor.zero_grad(set_to_none=True)

    chains()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        chains()
        times.append(time.perf_counter() - start)
    per_update = seconds / steps
    return {"updates_per_second": steps / seconds, "chain_seconds": statistics.median(times),
            "update_seconds": per_update,
            "chain_share": min(1.0, statistics.median(times) / per_update),
            "denoise_steps": float(agent.config.denoise_steps)}


# -- the whole section --------------------------------------------------------------------------
def throughput_rows(ours: dict[str, float], d3rlpy: dict[str, float],
                    d3rlpy_tuned: dict[str, float],
                    opt_in: dict[str, tuple[str, dict[str, Any]]] | None = None
                    ) -> list[dict[str, Any]]:
    """One row per rate of ours; a row named in ``opt_in`` is compared with d3rlpy's rate for
    its algorithm and marked ``opt_in`` (shown, not counted in the summary)."""
    opt_in = OPT_IN if opt_in is None else opt_in
    rows = []
    for name, rate in ours.items():
        a = opt_in[name][0] if name in opt_in else name
        ratio = rate / d3rlpy[a] if d3rlpy.get(a) else math.nan
        tuned = rate / d3rlpy_tuned[a] if d3rlpy_tuned.get(a) else math.nan
        rows.append({"algorithm": name, "seemrepro": rate, "d3rlpy": d3rlpy.get(a, math.nan),
                     "d3rlpy_tuned_malloc": d3rlpy_tuned.get(a, math.nan), "ratio": ratio,
                     "ratio_tuned_malloc": tuned, "target": TARGET_VS_D3RLPY,
                     "verdict": verdict(ratio, TARGET_VS_D3RLPY), "opt_in": name in opt_in})
    return rows


def flop_rows(update_flops: dict[str, float], ours: dict[str, float], d3rlpy: dict[str, float],
              peak: float) -> list[dict[str, Any]]:
    """Per algorithm: its update's FLOP rate, that rate over the float32 peak, and the ratio to
    d3rlpy its update would reach running at the peak (``ceiling_vs_d3rlpy``)."""
    rows = []
    for a, flops in update_flops.items():
        achieved = flops * ours[a]
        ceiling = peak / flops
        rows.append({"algorithm": a, "update_flops": flops, "updates_per_second": ours[a],
                     "achieved_flops": achieved, "fraction": achieved / peak,
                     "ceiling_updates_per_second": ceiling,
                     "ceiling_vs_d3rlpy": ceiling / d3rlpy[a] if d3rlpy.get(a) else math.nan})
    return rows


def format_report(results: dict[str, Any]) -> str:
    """The section's printed table and lines (one PASS/FAIL per target)."""
    meta = results["meta"]
    lines = [(f"== training benchmark: {meta['dataset']}, batch {BATCH}, 256-256 networks, "
             f"torch threads {meta['threads']} both sides, allocator tuned here: "
             f"{meta['allocator_tuned']}"),
             (f"1. update throughput, one seed (updates/s, best of {meta.get('rounds', 1)} "
              "interleaved rounds); d3rlpy: fit(n_steps) after a warm-up fit, no logging or "
              "evaluation"),
             (f"{'algorithm':10s} {'seemrepro':>10s} {'d3rlpy':>8s} {'d3rlpy+malloc':>14s} "
             f"{'ratio':>7s} {'ratio+malloc':>13s} {'target':>7s}  verdict")]
    for r in results["throughput"]:
        mark = " (opt-in setting: shown, not in the summary)" if r.get("opt_in") else ""
        lines.append(f"{r['algorithm']:10s} {r['seemrepro']:10.1f} {r['d3rlpy']:8.1f} "
                     f"{r['d3rlpy_tuned_malloc']:14.1f} {r['ratio']:6.2f}x "
                     f"{r['ratio_tuned_malloc']:12.2f}x {'>=' + format(r['target'], 'g') + 'x':>7s}"
                     f"  {r['verdict']}{mark}")
    for name, (algorithm, options) in OPT_IN.items():
        if any(r["algorithm"] == name for r in results["throughput"]):
            settings = ", ".join(f"{k}={v}" for k, v in options.items())
            lines.append(f"   {name}: {algorithm} with {settings}")
    lines.append(f"2. N={len(SEEDS)} seeds as one batched agent vs single-seed agents in turn "
                 f"(seed-updates/s, best of {meta.get('rounds', 1)} rounds)")
    for b in results["batched"]:
        lines.append(f"{b['algorithm']:10s} batched {b['batched']:8.1f} vs sequential "
                     f"{b['sequential']:8.1f}: {b['ratio']:.2f}x (target >= {TARGET_BATCHED:g}x) "
                     f"{b['verdict']}")
    f = results["flops"]
    lines.append(f"3. FLOP rate of each update against the float32 matmul peak "
                 f"{f['peak_flops'] / 1e9:.1f} GFLOP/s (best of {', '.join(f['peak_by_size'])})"
                 "; at the peak, the update's rate over d3rlpy's")
    for row in f["per_algorithm"]:
        lines.append(f"{row['algorithm']:10s} {row['update_flops'] / 1e6:8.1f} MFLOP x "
                     f"{row['updates_per_second']:6.1f} upd/s = "
                     f"{row['achieved_flops'] / 1e9:6.2f} GFLOP/s: {100 * row['fraction']:5.1f}% "
                     f"of peak; at the peak {row['ceiling_updates_per_second']:.0f} upd/s = "
                     f"{row['ceiling_vs_d3rlpy']:.2f}x d3rlpy")
    s = results["seem"]
    diffusion = results.get("diffusion")
    lines_after_seem = []
    if diffusion is not None:
        lines_after_seem.append(
            f"5. Diffusion-QL (T={diffusion['denoise_steps']:.0f}, 3x256 actor and critics): "
            f"{diffusion['updates_per_second']:.1f} upd/s, {diffusion['updates_per_second'] / diffusion['td3bc_updates_per_second']:.2f}x"
            f" TD3+BC's in the same round; denoising chains {100 * diffusion['chain_share']:.0f}% "
            "of an update (no d3rlpy counterpart, no target)")
    lines.append(f"4. SEEM monitor (M={s['samples']}, every {s['interval']} updates): "
                 f"{s['seem_seconds']:.2f} s per call vs {s['training_seconds_per_interval']:.1f} s "
                 f"of training per interval: {100 * s['share']:.2f}% of training time (target < "
                 f"{100 * TARGET_SEEM_SHARE:g}%) {s['verdict']}  [timed call scaled by interval]")
    lines.extend(lines_after_seem)
    g = results["gpu"]
    if g is None:
        lines.append("GPU: no GPU present (torch.cuda.is_available() is False); the batched-"
                     f"seeds GPU target ({TARGET_BATCHED_GPU:g}x) was not measured")
    else:
        lines.append(f"GPU {g['device']}: {g['algorithm']} N={g['seeds']} batched "
                     f"{g['batched']:.1f} vs sequential {g['sequential']:.1f} seed-updates/s: "
                     f"{g['ratio']:.2f}x (target >= {TARGET_BATCHED_GPU:g}x) {g['verdict']}")
    verdicts = ([r["verdict"] for r in results["throughput"] if not r.get("opt_in")]
                + [b["verdict"] for b in results["batched"]] + [s["verdict"]])
    if g is not None:
        verdicts.append(g["verdict"])
    lines.append(f"SUMMARY training: {verdicts.count('PASS')}/{len(verdicts)} targets PASS "
                 f"{'PASS' if all(v == 'PASS' for v in verdicts) else 'FAIL'}")
    return "\n".join(lines)


def best_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Per key, the highest rate over the rounds: the least disturbed by other processes."""
    return {k: max(r[k] for r in rounds) for k in rounds[0]}


def run(plan: Plan | None = None, *, json_path: Path | None = None,
        algorithms: Sequence[str] = ALGORITHMS) -> dict[str, Any]:
    """Measure every rate ``plan.rounds`` times, the sides interleaved, and keep each best."""
    from seemrepro import runtime

    plan = plan or Plan()
    torch.set_num_threads(THREADS)
    tune = getattr(runtime, "tune_allocator", None)
    allocator_tuned = bool(tune()) if tune is not None else False
    cpu = torch.device("cpu")
    data = training_data(cpu)
    raw = resolve_dataset(DATASET)  # raw states: d3rlpy standardizes them itself
    sub = dataclasses.replace(plan, steps={a: plan.steps[a] for a in algorithms})
    opt_in = {name: v for name, v in OPT_IN.items() if v[0] in algorithms}
    agents = {a: make_agent(a, data, cpu) for a in algorithms}
    agents.update({name: make_agent(a, data, cpu, options=options)
                   for name, (a, options) in opt_in.items()})
    steps = {**plan.steps, **{name: plan.steps[a] for name, (a, _) in opt_in.items()}}
    warmup = {**plan.warmup, **{name: plan.warmup[a] for name, (a, _) in opt_in.items()}}
    gens = {name: [torch.Generator().manual_seed(0)] for name in agents}
    rounds: dict[str, list[dict[str, float]]] = {
        "ours": [], "d3rlpy": [], "d3rlpy_tuned": [], **{f"batched_{a}": [] for a in algorithms}}
    for r in range(plan.rounds):
        rounds["ours"].append({name: steps[name] / timed_updates(
            agent, data, steps[name], warmup[name] if r == 0 else 0, gens[name])
            for name, agent in agents.items()})
        rounds["d3rlpy"].append(d3rlpy_rates(raw, sub, tuned_allocator=False))
        rounds["d3rlpy_tuned"].append(d3rlpy_rates(raw, sub, tuned_allocator=True))
        for a in algorithms:
            b = batched_vs_sequential(a, data, plan.batched_steps[a], plan.warmup[a], cpu)
            rounds[f"batched_{a}"].append({"batched": b["batched"],
                                           "sequential": b["sequential"]})
    ours, d3, d3_tuned = (best_of(rounds[k]) for k in ("ours", "d3rlpy", "d3rlpy_tuned"))
    batched = []
    for a in algorithms:
        best = best_of(rounds[f"batched_{a}"])
        ratio = best["batched"] / best["sequential"]
        batched.append({"algorithm": a, "seeds": len(SEEDS), **best, "ratio": ratio,
                        "verdict": verdict(ratio, TARGET_BATCHED)})
    peak = matmul_peak(cpu, plan.peak_repeats)
    flops = flop_rows({a: update_flops(make_agent(a, data, cpu), data) for a in algorithms},
                      ours, d3, peak["peak_flops"])
    seem: dict[str, Any] = seem_share(agents["td3bc"], data, ours["td3bc"], plan.seem_repeats)
    seem["verdict"] = verdict(seem["share"], TARGET_SEEM_SHARE, below=True)
    diffusion = diffusion_cost(data, plan.diffusion_steps, plan.warmup["td3bc"])
    diffusion["td3bc_updates_per_second"] = ours["td3bc"]
    gpu = None
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        gpu = batched_vs_sequential("td3bc", training_data(dev), plan.batched_steps["td3bc"],
                                    plan.warmup["td3bc"], dev)
        gpu.update(algorithm="td3bc", device=torch.cuda.get_device_name(dev),
                   verdict=verdict(gpu["ratio"], TARGET_BATCHED_GPU))
    results = {
        "meta": {"dataset": DATASET, "threads": THREADS, "batch": BATCH, "rounds": plan.rounds,
                 "allocator_tuned": allocator_tuned, "torch": torch.__version__,
                 "plan": dataclasses.asdict(plan),
                 "d3rlpy_measure": "fit(n_steps=N, n_steps_per_epoch=N, no logging/evaluation) "
                                   "after an untimed warm-up fit that built the model",
                 "seem_measure": "one seem_monitor call timed (median), scaled by its interval",
                 "per_round": rounds},
        "throughput": throughput_rows(ours, d3, d3_tuned, opt_in), "batched": batched,
        "flops": {"peak_flops": peak["peak_flops"], "peak_by_size": peak["by_size"],
                  "per_algorithm": flops},
        "seem": seem, "diffusion": diffusion, "gpu": gpu}
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1))
    return results
