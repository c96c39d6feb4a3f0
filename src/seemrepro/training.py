"""One training loop for every agent (offline; online for SAC), with monitors and a run store.

A run is a :class:`RunConfig` (algorithm, full agent config, dataset and subset, seed, steps,
monitor intervals). :func:`train` trains one or several seeds of one config — several seeds as
one batched model — and returns per-seed tidy metric rows ``(step, seed, metric, value)``.
Monitors, each at its own interval:

* ``q_every``: mean Q on the fixed X's dataset actions (``q_data``) and at the policy's actions
  (``q_policy``), the first critic's parameter norm, the policy action's norm over the action
  box corner's norm (``action_corner_ratio``; T8) and the same for dataset actions;
* ``seem_every``: raw and normalized SEEM of the first critic on X and X* = (s', π(s'));
* ``eval_every``: evaluation return and normalized score;
* ``snapshot_every``: actor and critic parameters; when the run ends, each snapshot's cosine
  similarity to the run's last snapshot (the reference checkpoint: the final step, or the last
  one before divergence) is recorded for the critic's parameters, the actor's parameters, the
  policy's actions on X and the critic's NTK Gram matrix on the first 256 pairs of X (T9).

A run diverges when a Q statistic is non-finite or above ``divergence_threshold``: it stops
there (its step is recorded as metric ``diverged``) while the other seeds go on.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from seemrepro import rollouts
from seemrepro.agents import ONLINE, Agent, agent_class, make_config
from seemrepro.buffer import Batch, ReplayBuffer, TransitionBuffer
from seemrepro.critics import parameter_norm
from seemrepro.datasets import MissingReferenceScoresError, normalized_score
from seemrepro.ntk import cosine, gram
from seemrepro.runstore import RunStore, config_key
from seemrepro.seem import seem

Row = tuple[int, int, str, float]


@dataclass(frozen=True)
class MonitorConfig:
    q_every: int = 1000
    seem_every: int = 10000
    seem_samples: int = 2560
    eval_every: int = 0  # 0: off
    eval_episodes: int = 10
    snapshot_every: int = 0  # 0: off
    checkpoint_every: int = 10000
    divergence_threshold: float = 1e6


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's results; its hash is the run's key in the store.

    ``agent`` holds options over the algorithm's defaults; :meth:`resolved` fills in the rest so
    that two spellings of one config share one key. For SAC, ``dataset`` is ``online/<EnvId>``.
    """

    algorithm: str
    dataset: str
    seed: int = 0
    steps: int = 100_000
    batch_size: int = 256
    subset: float = 1.0
    subset_seed: int = 0
    normalize_states: bool = True
    agent: dict[str, Any] = field(default_factory=dict)
    monitors: MonitorConfig = field(default_factory=MonitorConfig)
    start_steps: int = 5000  # online: uniform random actions before learning starts

    def __post_init__(self) -> None:
        agent_class(self.algorithm)
        online = self.dataset.startswith("online/")
        if (self.algorithm in ONLINE) != online:
            raise ValueError(f"algorithm {self.algorithm!r} needs "
                             f"{'an online/<EnvId>' if self.algorithm in ONLINE else 'an offline'}"
                             f" dataset, got {self.dataset!r}")
        if self.steps <= 0 or self.batch_size <= 0:
            raise ValueError("steps and batch_size must be positive")
        if not 0.0 < self.subset <= 1.0:
            raise ValueError(f"subset must lie in (0, 1], got {self.subset}")

    def resolved(self) -> RunConfig:
        return dataclasses.replace(self, agent=make_config(self.algorithm, self.agent).to_dict())

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self.resolved())
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        values = dict(data)
        values["monitors"] = MonitorConfig(**values.get("monitors", {}))
        return cls(**values)

    def key(self) -> str:
        return config_key(self.to_dict())

    def with_seed(self, seed: int) -> RunConfig:
        return dataclasses.replace(self, seed=seed)


@dataclass
class RunResult:
    config: RunConfig
    rows: list[Row]
    diverged_at: int | None
    seconds: float

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["step", "seed", "metric", "value"])

    def series(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [(s, v) for s, _, m, v in self.rows if m == metric]
        return (np.array([r[0] for r in rows], dtype=float),
                np.array([r[1] for r in rows], dtype=float))


# -- data --------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """The (normalized) training data, the fixed monitoring set X and the evaluation env."""

    data: TransitionBuffer
    mean: torch.Tensor
    std: torch.Tensor
    env_id: str | None
    source: TransitionBuffer


def prepare(config: RunConfig, device: torch.device) -> Prepared:
    if config.algorithm in ONLINE:
        env_id = config.dataset.split("/", 1)[1]
        import gymnasium as gym

        env = gym.make(env_id)
        s_dim = int(np.prod(env.observation_space.shape))  # type: ignore[arg-type]
        a_dim = int(np.prod(env.action_space.shape))  # type: ignore[arg-type]
        env.close()
        empty = rollouts.synthetic(1, s_dim, a_dim)
        empty.metadata.clear()
        ref = rollouts.reference_for(env_id)
        if ref:
            empty.metadata.update(ref_min_score=ref[0], ref_max_score=ref[1])
        return Prepared(empty, torch.zeros(s_dim), torch.ones(s_dim), env_id, empty)
    source = rollouts.load_dataset(config.dataset)
    data = rollouts.subset(source, config.subset, config.subset_seed)
    if config.normalize_states:
        mean, std = data.state_stats()
    else:
        mean, std = torch.zeros(data.state_dim), torch.ones(data.state_dim)
    data = dataclasses.replace(data, states=(data.states - mean) / std,
                               next_states=(data.next_states - mean) / std).to(device)
    return Prepared(data, mean, std, source.metadata.get("env_id"), source)


def monitor_set(data: TransitionBuffer, m: int, seed: int) -> Batch:
    """The fixed X: ``m`` transitions drawn once, before training, from this seed's stream."""
    g = torch.Generator().manual_seed(10_000 + seed)
    idx = torch.randint(0, len(data), (min(m, len(data)),), generator=g).to(data.states.device)
    return data.batch(idx)


# -- monitors ----------------------------------------------------------------------------------
def q_monitor(agent: Agent, index: int, x: Batch) -> dict[str, float]:
    critic, actor = agent.critic_of(index), agent.actor_of(index)
    with torch.no_grad():
        policy = actor(x.states)
        q_data = critic(torch.cat([x.states, x.actions], dim=-1))
        q_policy = critic(torch.cat([x.states, policy], dim=-1))
        corner = agent.config.max_action * math.sqrt(agent.action_dim)
        return {"q_data": float(q_data.mean()), "q_policy": float(q_policy.mean()),
                "q_abs_max": float(torch.cat([q_data, q_policy]).abs().max()),
                "param_norm": parameter_norm(critic),
                "action_corner_ratio": float(policy.norm(dim=-1).mean() / corner),
                "data_action_corner_ratio": float(x.actions.norm(dim=-1).mean() / corner)}


def seem_monitor(agent: Agent, index: int, x: Batch) -> dict[str, float]:
    critic, actor = agent.critic_of(index), agent.actor_of(index)
    with torch.no_grad():
        x_in = torch.cat([x.states, x.actions], dim=-1)
        x_next = torch.cat([x.next_states, actor(x.next_states)], dim=-1)
    result = seem(critic, x_in, x_next, agent.config.gamma, normalize_by_parameters=True)
    return {"seem": result.raw, "seem_normalized": result.normalized}


def eval_monitor(agent: Agent, index: int, prepared: Prepared, episodes: int, step: int
                 ) -> dict[str, float]:
    actor = agent.actor_of(index)
    mean, std = prepared.mean.numpy(), prepared.std.numpy()

    def policy(obs: np.ndarray) -> np.ndarray:
        s = torch.as_tensor((obs - mean) / std, dtype=torch.float32, device=agent.device)
        with torch.no_grad():
            return actor(s).cpu().numpy()

    assert prepared.env_id is not None
    returns = rollouts.evaluate(policy, prepared.env_id, episodes, seed=1_000_000 + step)
    ret = float(np.mean(returns))
    try:
        return {"return": ret, "normalized_score": float(normalized_score(ret, prepared.source))}
    except MissingReferenceScoresError:  # no reference scores: report the raw return only
        return {"return": ret}


def flat_parameters(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


SIMILARITY_METRICS = ("cos_critic_params", "cos_actor_params", "cos_actions", "cos_ntk")


def similarity_rows(snapshots: dict[int, dict[str, torch.Tensor]], critic: nn.Module,
                    actor: nn.Module, x: Batch, seed: int, ntk_samples: int = 256) -> list[Row]:
    """Each snapshot's cosine similarity to the last one (the reference checkpoint).

    ``critic`` and ``actor`` are modules of the run's architecture (their parameters are
    overwritten); the policy's actions are compared on ``x``'s states, the NTK on its first
    ``ntk_samples`` (s, a) pairs.
    """
    if not snapshots:
        return []
    critic, actor = copy.deepcopy(critic), copy.deepcopy(actor)
    x_in = torch.cat([x.states, x.actions], dim=-1)[:ntk_samples]

    def views(snapshot: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        torch.nn.utils.vector_to_parameters(snapshot["critic"].to(x_in), critic.parameters())
        torch.nn.utils.vector_to_parameters(snapshot["actor"].to(x_in), actor.parameters())
        with torch.no_grad():
            actions = actor(x.states)
        return {"critic": snapshot["critic"], "actor": snapshot["actor"], "actions": actions,
                "ntk": gram(critic, x_in, dtype=torch.float64)}

    reference_step = max(snapshots)
    reference = views(snapshots[reference_step])
    rows: list[Row] = []
    for step in sorted(snapshots):
        current = reference if step == reference_step else views(snapshots[step])
        for metric, part in zip(SIMILARITY_METRICS, ("critic", "actor", "actions", "ntk"),
                                strict=True):
            rows.append((step, seed, metric, cosine(current[part], reference[part])))
        rows.append((step, seed, "similarity_reference_step", float(reference_step)))
    return rows


# -- the loop ----------------------------------------------------------------------------------
def _stack(batches: list[Batch]) -> Batch:
    return Batch(*[torch.stack([getattr(b, f.name) for b in batches])
                   for f in dataclasses.fields(Batch)])


def _diverged(stats: dict[str, float], threshold: float) -> bool:
    return not all(math.isfinite(v) for v in stats.values()) or stats["q_abs_max"] > threshold


def train(config: RunConfig, seeds: Sequence[int] | None = None, *,
          store: RunStore | None = None, batched: bool = True, progress: bool = True,
          device: torch.device | str | None = None,
          interrupt_at: int | None = None) -> list[RunResult]:
    """Train ``config`` for each of ``seeds`` (default: its own seed) and return their results.

    Finished runs come from ``store`` without training; the others train together as one
    batched model when ``batched`` (else one after another), resuming from their last
    checkpoint. ``interrupt_at`` raises :class:`KeyboardInterrupt` after that many steps
    (for testing resumption). The first call tunes the process's memory allocator
    (:func:`seemrepro.runtime.tune_allocator`), which roughly doubles CPU update throughput.
    """
    from seemrepro.runtime import default_device, tune_allocator

    tune_allocator()  # updates reuse their large temporaries instead of page-faulting them in
    dev = torch.device(device) if device is not None else default_device()
    seed_list = list(seeds) if seeds is not None else [config.seed]
    configs = [config.with_seed(s).resolved() for s in seed_list]
    results: dict[int, RunResult] = {}
    todo = []
    for c in configs:
        done = store.load(c) if store is not None else None
        if done is not None:
            results[c.seed] = done
        else:
            todo.append(c)
    groups = [todo] if batched and len(todo) > 1 else [[c] for c in todo]
    for group in groups:
        for result in _train_group(group, store, progress, dev, interrupt_at):
            results[result.config.seed] = result
    return [results[c.seed] for c in configs]


def _train_group(configs: list[RunConfig], store: RunStore | None, progress: bool,
                 device: torch.device, interrupt_at: int | None) -> list[RunResult]:
    base, seeds = configs[0], [c.seed for c in configs]
    mon = base.monitors
    prepared = prepare(base, device)
    agent_config = make_config(base.algorithm, base.agent)
    cls = agent_class(base.algorithm)
    batched = len(configs) > 1
    agent = cls(prepared.data.state_dim, prepared.data.action_dim, agent_config,
                seed=seeds[0], seeds=seeds if batched else None, device=device)
    samplers = [torch.Generator().manual_seed(20_000 + s) for s in seeds]
    monitor_sets = [monitor_set(prepared.data, mon.seem_samples, s) for s in seeds]
    online = base.algorithm in ONLINE
    envs: list[Any] = []
    replays: list[ReplayBuffer] = []
    if online:
        import gymnasium as gym

        envs = [gym.make(prepared.env_id) for _ in seeds]  # type: ignore[arg-type]
        replays = [ReplayBuffer(max(base.steps, 1), prepared.data.state_dim,
                                prepared.data.action_dim) for _ in seeds]
    rows: list[list[Row]] = [[] for _ in seeds]
    diverged: list[int | None] = [None for _ in seeds]
    snapshots: list[dict[int, dict[str, torch.Tensor]]] = [{} for _ in seeds]
    start, elapsed = 0, 0.0
    group_key = (hashlib.sha256("".join(c.key() for c in configs).encode()).hexdigest()[:16])
    state: dict[str, Any] | None = None
    if store is not None:
        state = store.load_checkpoint(base.algorithm, group_key)
        if state is not None:
            agent.load_state_dict(state["agent"])
            for g, s in zip(samplers, state["samplers"], strict=True):
                g.set_state(s)
            rows, diverged, start = state["rows"], state["diverged"], state["step"]
            snapshots, elapsed = state["snapshots"], state["elapsed"]
    obs: list[Any] = [None] * len(seeds)
    if online:
        obs = [env.reset(seed=s)[0] for env, s in zip(envs, seeds)]
        rngs = [np.random.default_rng(30_000 + s) for s in seeds]
        if start > 0:
            assert state is not None
            replays, obs = state["replays"], state["obs"]
            for i, (env, rng) in enumerate(zip(envs, rngs, strict=True)):
                rng.bit_generator.state = state["rngs"][i]
                if state["env_states"][i] is not None:
                    rollouts.restore_env_state(env, state["env_states"][i])
                else:  # the physics cannot be restored: continue from a fresh episode
                    obs[i] = env.reset(seed=seeds[i] + start)[0]

    def record(step: int, force_q: bool = False) -> None:
        for i, s in enumerate(seeds):
            if diverged[i] is not None:
                continue
            values: dict[str, float] = {}
            if force_q:
                stats = q_monitor(agent, i, monitor_sets[i])
                if _diverged(stats, mon.divergence_threshold):
                    diverged[i] = step
                    rows[i].append((step, s, "diverged", float(step)))
                continue
            if step % mon.q_every == 0 or step == base.steps:
                values.update(q_monitor(agent, i, monitor_sets[i]))
                if _diverged(values, mon.divergence_threshold):
                    diverged[i] = step
                    rows[i].append((step, s, "diverged", float(step)))
                    rows[i].extend((step, s, k, v) for k, v in values.items())
                    continue
            if mon.seem_every and (step % mon.seem_every == 0 or step == base.steps):
                values.update(seem_monitor(agent, i, monitor_sets[i]))
            if mon.eval_every and (step % mon.eval_every == 0 or step == base.steps):
                values.update(eval_monitor(agent, i, prepared, mon.eval_episodes, step))
            if mon.snapshot_every and (step % mon.snapshot_every == 0 or step == base.steps):
                snapshots[i][step] = {
                    "actor": flat_parameters(agent.actor_of(i)).cpu(),
                    "critic": flat_parameters(agent.critic_of(i)).cpu()}
            rows[i].extend((step, s, k, v) for k, v in values.items())

    def checkpoint(step: int) -> None:
        if store is None:
            return
        state: dict[str, Any] = {
            "agent": agent.state_dict(), "samplers": [g.get_state() for g in samplers],
            "rows": rows, "diverged": diverged, "step": step, "snapshots": snapshots,
            "elapsed": elapsed + time.perf_counter() - t_start}
        if online:
            state.update(replays=replays, obs=obs,
                         env_states=[rollouts.capture_env_state(env) for env in envs],
                         rngs=[copy.deepcopy(rng.bit_generator.state) for rng in rngs])
        store.save_checkpoint(base.algorithm, group_key, state)

    t_start = time.perf_counter()
    if start == 0:
        record(0)
    bar = tqdm(range(start + 1, base.steps + 1), disable=not progress, initial=start,
               total=base.steps, desc=f"{base.algorithm} seeds {seeds}", mininterval=2.0)
    for step in bar:
        if all(d is not None for d in diverged):
            break
        if online:
            batches = _online_step(agent, envs, replays, obs, rngs, step, base)
        else:
            batches = [prepared.data.sample(base.batch_size, g) for g in samplers]
        if batches is not None:
            metrics = agent.update(_stack(batches) if batched else batches[0])
            if not all(math.isfinite(v) for v in metrics.values()):
                record(step, force_q=True)  # find which seed blew up, now
        if step % mon.q_every == 0 or step == base.steps or (
                mon.seem_every and step % mon.seem_every == 0) or (
                mon.eval_every and step % mon.eval_every == 0) or (
                mon.snapshot_every and step % mon.snapshot_every == 0):
            record(step)
        if interrupt_at is not None and step == interrupt_at:
            raise KeyboardInterrupt(f"interrupted at step {step}")
        if step % mon.checkpoint_every == 0 and step < base.steps:
            checkpoint(step)
    bar.close()
    seconds = elapsed + time.perf_counter() - t_start
    results = []
    for i, c in enumerate(configs):
        rows[i].extend(similarity_rows(snapshots[i], agent.critic_of(i), agent.actor_of(i),
                                       monitor_sets[i], c.seed))
        result = RunResult(c, rows[i], diverged[i], seconds / len(configs))
        if store is not None:
            store.save(c, result, snapshots[i])
        results.append(result)
    if store is not None:
        store.drop_checkpoint(base.algorithm, group_key)
    for env in envs:
        env.close()
    return results


def _online_step(agent: Agent, envs: list[Any], replays: list[ReplayBuffer], obs: list[Any],
                 rngs: list[np.random.Generator], step: int, config: RunConfig
                 ) -> list[Batch] | None:
    """One environment step per seed, then batches once learning has started."""
    for i, env in enumerate(envs):
        if step <= config.start_steps:
            action = rngs[i].uniform(env.action_space.low, env.action_space.high)
        else:
            actor = agent.actor_of(i) if agent.batched else agent.actor  # type: ignore[attr-defined]
            noise = torch.randn(1, agent.action_dim, generator=agent.generators[i],
                                device=agent.device)
            with torch.no_grad():
                s = torch.as_tensor(obs[i], dtype=torch.float32, device=agent.device)
                a, _ = actor(s.unsqueeze(0), noise)
            action = a[0].cpu().numpy()
        next_obs, reward, terminated, truncated, _ = env.step(action.astype(np.float32))
        replays[i].add(obs[i], action, float(reward), next_obs, bool(terminated))
        obs[i] = env.reset()[0] if terminated or truncated else next_obs
    if step <= config.start_steps:
        return None
    return [r.sample(config.batch_size, rngs[i], agent.device) for i, r in enumerate(replays)]
