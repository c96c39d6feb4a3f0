"""One training loop for every agent (offline; online for SAC), with monitors and a run store.

:func:`train` trains one config for one or several seeds — several seeds as one batched model —
and returns per-seed tidy metric rows ``(step, seed, metric, value)``. The monitors
(:mod:`seemrepro.engine.monitors`) run at their own intervals; Q comes first and decides
divergence: a seed diverges when a Q statistic is non-finite or above
``divergence_threshold``, and stops there (its step is recorded as metric ``diverged``) while
the other seeds go on. Unfinished groups are checkpointed to the store and resume exactly.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from seemrepro import seeds as streams
from seemrepro.datasets.resolve import resolve_dataset
from seemrepro.engine.config import Row, RunConfig, RunResult
from seemrepro.engine.data import Prepared, monitor_set, prepare
from seemrepro.engine.monitors import Monitor, RunView, SnapshotMonitor, build_monitors, diverged
from seemrepro.engine.store import RunStore
from seemrepro.rl.agents import Agent, agent_class, make_config
from seemrepro.rl.buffers import Batch, ReplayBuffer
from seemrepro.rl.envstate import capture_env_state, restore_env_state
from seemrepro.runtime import (
    default_device,
    describe_device,
    exact_platform,
    flushing_denormals,
    git_commit,
    run_platform,
    tune_allocator,
    using_threads,
)

log = logging.getLogger(__name__)


def train(config: RunConfig, seeds: Sequence[int] | None = None, *,
          store: RunStore | None = None, batched: bool = True, progress: bool = True,
          device: torch.device | str | None = None, threads: int | None = None,
          interrupt_at: int | None = None) -> list[RunResult]:
    """Train ``config`` for each of ``seeds`` (default: its own seed) and return their results.

    Finished runs come from ``store`` without training (``result.cached``); the others train
    together as one batched model when ``batched`` (else one after another), resuming from
    their last checkpoint. ``threads`` sets torch's intra-op threads for the call (default:
    as they are; the command line uses :func:`seemrepro.runtime.default_threads`).
    ``interrupt_at`` raises :class:`KeyboardInterrupt` after that many steps (for testing
    resumption). The first call tunes the process's memory allocator
    (:func:`seemrepro.runtime.tune_allocator`), which roughly doubles CPU update throughput.
    """
    seed_list = list(seeds) if seeds is not None else [config.seed]
    return train_runs([config.with_seed(s) for s in seed_list], store=store, batched=batched,
                      progress=progress, device=device, threads=threads,
                      interrupt_at=interrupt_at)


def train_runs(configs: Sequence[RunConfig], *, store: RunStore | None = None,
               batched: bool = True, max_group: int = 64, progress: bool = True,
               device: torch.device | str | None = None, threads: int | None = None,
               interrupt_at: int | None = None,
               on_progress: Callable[[float], None] | None = None) -> list[RunResult]:
    """Train (or read back) any list of runs, in input order.

    With ``batched``, runs that share an architecture (:func:`batch_groups`: they may differ
    in seed and in data) train as one batched model of at most ``max_group`` members.
    ``on_progress`` receives fractions of finished runs as training advances (for a progress
    bar over a whole grid).
    """
    tune_allocator()  # updates reuse their large temporaries instead of page-faulting them in
    dev = torch.device(device) if device is not None else default_device()
    resolved = [c.resolved() for c in configs]
    results: list[RunResult | None] = [None] * len(resolved)
    todo: list[int] = []
    for i, c in enumerate(resolved):
        done = store.load(c) if store is not None else None
        if done is not None:
            done.cached = True
            results[i] = done
            if on_progress is not None:
                on_progress(1.0)
        else:
            todo.append(i)
    pending = [resolved[i] for i in todo]
    groups = batch_groups(pending, max_group) if batched else [[c] for c in pending]
    slots = {id(c): i for i, c in zip(todo, pending)}
    with using_threads(threads or torch.get_num_threads()), flushing_denormals():
        for group in groups:
            trained = GroupRun(group, store, dev).run(progress, interrupt_at, on_progress)
            for c, result in zip(group, trained, strict=True):
                results[slots[id(c)]] = result
    return [r for r in results if r is not None]


# Fields in which runs of one batched model may differ: each member has its own seed and data
# (and the agent's own member scalars, e.g. γ: :attr:`seemrepro.rl.agents.Agent.member_scalars`).
DATA_FIELDS = ("dataset", "subset", "subset_seed", "normalize_states")
MEMBER_FIELDS = ("seed", *DATA_FIELDS)


def data_key(config: RunConfig) -> tuple[Any, ...]:
    """What decides a run's training data: runs with equal keys share one prepared copy."""
    return tuple(getattr(config, name) for name in DATA_FIELDS)


def batch_groups(configs: Sequence[RunConfig], max_group: int = 64) -> list[list[RunConfig]]:
    """Split runs into groups that can train as one batched model, keeping input order
    within each group: the same config up to :data:`MEMBER_FIELDS` and the agent's member
    scalars, and data of the same state and action sizes. Online runs share one environment
    id. A run whose critic cannot batch over seeds (BatchNorm, dropout) trains alone."""
    groups: dict[str, list[RunConfig]] = {}
    for c in configs:
        shared = c.key_dict()
        for name in MEMBER_FIELDS:
            if name != "dataset" or not c.online:
                shared.pop(name)
        shared["agent"] = agent_class(c.algorithm).member_signature(shared["agent"])
        if not make_config(c.algorithm, c.agent).critic.batches_over_seeds:
            shared["alone"] = repr(c.resolved())
        if not c.online:
            shared["dims"] = data_dims(c.dataset)
        groups.setdefault(json.dumps(shared, sort_keys=True), []).append(c)
    return [g[i:i + max_group] for g in groups.values() for i in range(0, len(g), max_group)]


@functools.lru_cache(maxsize=64)
def data_dims(dataset: str) -> tuple[int, int]:
    """(state size, action size) of an offline dataset id."""
    data = resolve_dataset(dataset)
    return data.state_dim, data.action_dim


def _stack(batches: list[Batch]) -> Batch:
    return Batch(*[torch.stack([getattr(b, f.name) for b in batches])
                   for f in dataclasses.fields(Batch)])


class OnlineEnvs:
    """One environment, replay buffer and exploration stream per seed of an online run."""

    def __init__(self, config: RunConfig, prepared: Prepared, seeds: list[int]) -> None:
        import gymnasium as gym

        self.config, self.seeds = config, seeds
        self.envs: list[Any] = [gym.make(prepared.env_id)  # type: ignore[arg-type]
                                for _ in seeds]
        self.replays = [ReplayBuffer(max(config.steps, 1), prepared.data.state_dim,
                                     prepared.data.action_dim) for _ in seeds]
        self.obs: list[Any] = [env.reset(seed=s)[0] for env, s in zip(self.envs, seeds)]
        self.rngs = [np.random.default_rng(streams.ONLINE_EXPLORATION(s)) for s in seeds]

    def state_dict(self) -> dict[str, Any]:
        return {"replays": [r.state_dict() for r in self.replays], "obs": self.obs,
                "env_states": [capture_env_state(env) for env in self.envs],
                "rngs": [copy.deepcopy(rng.bit_generator.state) for rng in self.rngs]}

    def load_state_dict(self, state: dict[str, Any], start: int) -> None:
        self.replays = [ReplayBuffer.from_state_dict(r) for r in state["replays"]]
        self.obs = list(state["obs"])
        for i, (env, rng) in enumerate(zip(self.envs, self.rngs, strict=True)):
            rng.bit_generator.state = state["rngs"][i]
            if state["env_states"][i] is not None:
                restore_env_state(env, state["env_states"][i])
            else:  # the physics cannot be restored: continue from a fresh episode
                self.obs[i] = env.reset(seed=self.seeds[i] + start)[0]

    def step(self, agent: Agent, step: int) -> list[Batch] | None:
        """One environment step per seed, then batches once learning has started."""
        config = self.config
        for i, env in enumerate(self.envs):
            if step <= config.start_steps:
                action = self.rngs[i].uniform(env.action_space.low, env.action_space.high)
            else:
                actor = agent.actor_of(i) if agent.batched else agent.actor  # type: ignore[attr-defined]
                noise = torch.randn(1, agent.action_dim, generator=agent.generators[i],
                                    device=agent.device)
                with torch.no_grad():
                    s = torch.as_tensor(self.obs[i], dtype=torch.float32, device=agent.device)
                    a, _ = actor(s.unsqueeze(0), noise)
                action = a[0].cpu().numpy()
            next_obs, reward, terminated, truncated, _ = env.step(action.astype(np.float32))
            self.replays[i].add(self.obs[i], action, float(reward), next_obs, bool(terminated))
            self.obs[i] = env.reset()[0] if terminated or truncated else next_obs
        if step <= config.start_steps:
            return None
        return [r.sample(config.batch_size, self.rngs[i], agent.device)
                for i, r in enumerate(self.replays)]

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _monitoring_size(config: RunConfig, prepared: Prepared) -> int:
    """M for the SEEM monitor; a run that measures no SEEM on its training data (the monitor is
    off, or the run is online) takes what there is without a warning."""
    m = config.monitors.seem_samples
    return m if config.monitors.seem_every and not config.online else min(m, len(prepared.data))


class GroupRun:
    """The seeds of one config trained together: their agent, data, monitors and state."""

    def __init__(self, configs: list[RunConfig], store: RunStore | None,
                 device: torch.device) -> None:
        self.configs, self.store, self.device = configs, store, device
        self.base = base = configs[0]
        self.seeds = [c.seed for c in configs]
        prepared: dict[tuple[Any, ...], Prepared] = {}
        for c in configs:  # members may train on different data (see batch_groups)
            if data_key(c) not in prepared:
                prepared[data_key(c)] = prepare(c, device)
        self.prepared = [prepared[data_key(c)] for c in configs]
        dims = {(p.data.state_dim, p.data.action_dim) for p in self.prepared}
        if len(dims) > 1:
            raise ValueError(f"runs of one batched group need data of one shape, got {dims}")
        batched = len(configs) > 1
        self.agent = agent_class(base.algorithm)(
            self.prepared[0].data.state_dim, self.prepared[0].data.action_dim,
            make_config(base.algorithm, base.agent), seed=self.seeds[0],
            seeds=self.seeds if batched else None, device=device,
            member_configs=[make_config(c.algorithm, c.agent) for c in configs]
            if batched else None)
        self.samplers = [torch.Generator().manual_seed(streams.MINIBATCHES(s)) for s in self.seeds]
        self.views = [RunView(self.agent, i, s,
                              monitor_set(p.data, _monitoring_size(base, p), s),
                              p, base.monitors)
                      for i, (s, p) in enumerate(zip(self.seeds, self.prepared, strict=True))]
        self.monitors: list[list[Monitor]] = [build_monitors(base.monitors) for _ in self.seeds]
        self.online = OnlineEnvs(base, self.prepared[0], self.seeds) if base.online else None
        self.rows: list[list[Row]] = [[] for _ in self.seeds]
        self.diverged: list[int | None] = [None for _ in self.seeds]
        self.start, self.elapsed = 0, 0.0
        # a group's key: its runs' keys in order (the store's keys cover code and data too)
        self.keys = [store.key(c) for c in configs] if store is not None else []
        self.group_key = hashlib.sha256("".join(self.keys).encode()).hexdigest()[:16]

    # -- checkpoints ---------------------------------------------------------------------------
    def restore(self) -> None:
        state = self.store.load_checkpoint(self.base.algorithm, self.group_key) \
            if self.store is not None else None
        if state is None:
            return
        self.agent.load_state_dict(state["agent"])
        for g, s in zip(self.samplers, state["samplers"], strict=True):
            g.set_state(s)
        self.rows, self.diverged, self.start = state["rows"], state["diverged"], state["step"]
        log.info("group %s (%d runs) resumes from its checkpoint at step %d", self.group_key,
                 len(self.configs), self.start)
        self.elapsed = state["elapsed"]
        for monitors, saved in zip(self.monitors, state["monitors"], strict=True):
            for monitor in monitors:
                monitor.load_state_dict(saved.get(monitor.name, {}))
        if self.online is not None and self.start > 0:
            self.online.load_state_dict(state["online"], self.start)

    def checkpoint(self, step: int, elapsed: float) -> None:
        if self.store is None:
            return
        state: dict[str, Any] = {
            "agent": self.agent.state_dict(), "samplers": [g.get_state() for g in self.samplers],
            "rows": self.rows, "diverged": self.diverged, "step": step, "elapsed": elapsed,
            "monitors": [{m.name: m.state_dict() for m in monitors} for monitors in self.monitors]}
        if self.online is not None:
            state["online"] = self.online.state_dict()
        self.store.save_checkpoint(self.base.algorithm, self.group_key, state)

    # -- monitoring ----------------------------------------------------------------------------
    def record(self, step: int) -> None:
        """Every due monitor of every live seed; Q first, which may end a seed's run."""
        last = self.base.steps
        threshold = self.base.monitors.divergence_threshold
        for i, s in enumerate(self.seeds):
            if self.diverged[i] is not None:
                continue
            values: dict[str, float] = {}
            for monitor in self.monitors[i]:
                if not monitor.due(step, last):
                    continue
                metrics = monitor(self.views[i], step)
                if monitor.name == "q" and diverged(metrics, threshold):
                    self.diverged[i] = step
                    self.rows[i].append((step, s, "diverged", float(step)))
                    self.rows[i].extend((step, s, k, v) for k, v in metrics.items())
                    break
                values.update(metrics)
            else:
                self.rows[i].extend((step, s, k, v) for k, v in values.items())

    def check_divergence(self, step: int) -> None:
        """After a non-finite update: find which seeds blew up, now (Q only, no rows)."""
        threshold = self.base.monitors.divergence_threshold
        for i, s in enumerate(self.seeds):
            q = next(m for m in self.monitors[i] if m.name == "q")
            if self.diverged[i] is None and diverged(q(self.views[i], step), threshold):
                self.diverged[i] = step
                self.rows[i].append((step, s, "diverged", float(step)))

    # -- the loop ------------------------------------------------------------------------------
    def run(self, progress: bool, interrupt_at: int | None,
            on_progress: Callable[[float], None] | None = None) -> list[RunResult]:
        base, agent = self.base, self.agent
        self.restore()
        report = on_progress if on_progress is not None else (lambda runs: None)
        per_step = len(self.configs) / base.steps  # progress is counted in runs
        report(per_step * self.start)
        reached = self.start
        checkpoint_every = base.monitors.checkpoint_interval(base.steps)
        t_start = time.perf_counter()
        if self.start == 0:
            self.record(0)
        bar = tqdm(range(self.start + 1, base.steps + 1), disable=not progress,
                   initial=self.start, total=base.steps,
                   desc=f"{base.algorithm} seeds {self.seeds}", mininterval=2.0)
        for step in bar:
            if all(d is not None for d in self.diverged):
                break
            report(per_step)
            reached = step
            if self.online is not None:
                batches = self.online.step(agent, step)
            else:
                batches = [p.data.sample(base.batch_size, g)
                           for p, g in zip(self.prepared, self.samplers, strict=True)]
            if batches is not None:
                metrics = agent.update(_stack(batches) if len(batches) > 1 else batches[0])
                if not all(math.isfinite(v) for v in metrics.values()):
                    self.check_divergence(step)
            if any(m.due(step, base.steps) for m in self.monitors[0]):
                self.record(step)
            if interrupt_at is not None and step == interrupt_at:
                raise KeyboardInterrupt(f"interrupted at step {step}")
            if step % checkpoint_every == 0 and step < base.steps:
                self.checkpoint(step, self.elapsed + time.perf_counter() - t_start)
        report(per_step * (base.steps - reached))  # the steps skipped once every seed diverged
        bar.close()
        seconds = self.elapsed + time.perf_counter() - t_start
        results = []
        where: dict[str, Any] = {} if self.store is None else {
            "device": describe_device(self.device), "commit": git_commit(),
            "threads": torch.get_num_threads(), "group": self.keys,
            "platform": run_platform(self.device),
            "exact_platform": exact_platform(self.device)}
        for i, c in enumerate(self.configs):
            for monitor in self.monitors[i]:
                self.rows[i].extend(monitor.finish(self.views[i]))
            result = RunResult(c, self.rows[i], self.diverged[i], seconds / len(self.configs))
            if self.store is not None:
                snapshots = next((m.snapshots for m in self.monitors[i]
                                  if isinstance(m, SnapshotMonitor)), None)
                self.store.save(c, result, snapshots, **where)
            results.append(result)
        if self.store is not None:
            self.store.drop_checkpoint(base.algorithm, self.group_key)
        if self.online is not None:
            self.online.close()
        return results
