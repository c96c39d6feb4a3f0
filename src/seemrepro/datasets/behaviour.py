"""Behaviour agents for the locally generated D4RL-style datasets.

An online agent (TD3, or SAC as D4RL's own behaviour agents) is trained on a MuJoCo environment
within a wall-clock budget; its deterministic actor is saved every ``snapshot_every`` steps
together with its evaluation return. A SAC snapshot is its Gaussian's mean,
``max_action·tanh(μ(s))``, stored as a :class:`~seemrepro.rl.networks.DeterministicActor`, so
both algorithms' snapshots load and roll out the same way. The datasets are then
rolled out from these snapshots (see :mod:`seemrepro.datasets.generate`), so only the small actor
files and the manifest need to be kept, not the transitions.

The job is checkpointed (agent, replay buffer, RNG states, elapsed time) so an interrupted run
resumes where it stopped: ``python -m seemrepro.datasets.behaviour Hopper-v5 Walker2d-v5``
(``--algorithm sac --batch-size 256 --root runs/behaviour`` trains SAC elsewhere).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from seemrepro import seeds
from seemrepro.rl.agents.base import Agent
from seemrepro.rl.agents.sac import SAC, SACConfig
from seemrepro.rl.agents.td3 import TD3, TD3Config
from seemrepro.rl.buffers import ReplayBuffer
from seemrepro.rl.evaluation import evaluate, torch_policy
from seemrepro.rl.networks import DeterministicActor, TanhGaussianActor
from seemrepro.runtime import atomic_write, load_state, project_root, save_state, seed_everything

LOCOMOTION_ENVS: tuple[str, ...] = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5")
BEHAVIOUR_ALGORITHMS: tuple[str, ...] = ("td3", "sac")


def env_slug(env_id: str) -> str:
    """``Hopper-v5`` → ``hopper`` (the family name used in dataset ids and folders)."""
    return env_id.split("-")[0].lower()


def behaviour_dir(env_id: str, root: Path | None = None) -> Path:
    return (root or project_root() / "data" / "behaviour") / env_slug(env_id)


@dataclass(frozen=True)
class BehaviourConfig:
    env_id: str
    seed: int = 0
    budget_s: float = 1320.0
    max_steps: int = 1_000_000
    start_steps: int = 10_000
    expl_noise: float = 0.1
    batch_size: int = 100  # the TD3 paper's; 2.5x cheaper per update on one CPU thread
    snapshot_every: int = 5_000
    eval_episodes: int = 10
    checkpoint_every: int = 25_000
    algorithm: str = "td3"

    def __post_init__(self) -> None:
        if self.algorithm not in BEHAVIOUR_ALGORITHMS:
            raise ValueError(f"unknown behaviour algorithm {self.algorithm!r}; "
                             f"choose one of {', '.join(BEHAVIOUR_ALGORITHMS)}")
        if self.budget_s < 0 or self.max_steps < 0 or self.start_steps < 0:
            raise ValueError("budget_s, max_steps and start_steps must be non-negative")
        if min(self.batch_size, self.snapshot_every, self.eval_episodes,
               self.checkpoint_every) < 1:
            raise ValueError("batch_size, snapshot_every, eval_episodes and checkpoint_every "
                             "must be positive")


def load_actor(path: Path, state_dim: int, action_dim: int,
               hidden: tuple[int, ...] = (256, 256)) -> DeterministicActor:
    actor = DeterministicActor(state_dim, action_dim, hidden)
    actor.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    actor.eval()
    return actor


def deterministic_actor(actor: nn.Module) -> DeterministicActor:
    """The actor a dataset rolls out: TD3's as it is, SAC's Gaussian mean (a copy holding the
    first ``action_dim`` outputs of its last layer; the states it sees are not normalized)."""
    if isinstance(actor, DeterministicActor):
        return actor
    if not isinstance(actor, TanhGaussianActor):
        raise TypeError(f"no deterministic policy for {type(actor).__name__}")
    linears = [m for m in actor.net if isinstance(m, nn.Linear)]
    action_dim = linears[-1].out_features // 2
    hidden = tuple(m.out_features for m in linears[:-1])
    mean_actor = DeterministicActor(linears[0].in_features, action_dim, hidden, actor.max_action)
    state = {k: v.detach().clone() for k, v in actor.net.state_dict().items()}
    last = len(actor.net) - 1
    state[f"{last}.weight"] = state[f"{last}.weight"][:action_dim]
    state[f"{last}.bias"] = state[f"{last}.bias"][:action_dim]
    mean_actor.net.load_state_dict(state)
    return mean_actor


def make_behaviour_agent(config: BehaviourConfig, state_dim: int, action_dim: int,
                         max_action: float) -> Agent:
    if config.algorithm == "sac":
        return SAC(state_dim, action_dim, SACConfig(max_action=max_action), seed=config.seed)
    return TD3(state_dim, action_dim, TD3Config(max_action=max_action), seed=config.seed)


def exploration_action(agent: Agent, obs: np.ndarray, rng: np.random.Generator,
                       config: BehaviourConfig, max_action: float) -> np.ndarray:
    """SAC samples its own policy (from the agent's generator); TD3 adds Gaussian noise
    ``N(0, (expl_noise·max_action)²)`` to its action."""
    state = torch.as_tensor(obs, dtype=torch.float32)
    if isinstance(agent, SAC):
        with torch.no_grad():
            action, _ = agent.sample(state)
        return action.numpy().astype(np.float32)
    mean = agent.act(state).numpy()
    noise = rng.normal(0.0, config.expl_noise * max_action, mean.shape)
    return np.clip(mean + noise, -max_action, max_action).astype(np.float32)


def _save_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=1))


def train_behaviour(config: BehaviourConfig, root: Path | None = None) -> dict[str, Any]:
    """Train (or resume) one behaviour agent; returns the manifest written next to the snapshots."""
    out = behaviour_dir(config.env_id, root)
    snap_dir = out / "snapshots"
    snap_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    manifest_path = out / "manifest.json"

    seed_everything(config.seed)
    env = gym.make(config.env_id)
    state_dim = int(env.observation_space.shape[0])  # type: ignore[index]
    action_dim = int(env.action_space.shape[0])  # type: ignore[index]
    max_action = float(env.action_space.high[0])  # type: ignore[attr-defined]
    agent = make_behaviour_agent(config, state_dim, action_dim, max_action)
    replay = ReplayBuffer(config.max_steps, state_dim, action_dim)
    rng = np.random.default_rng(config.seed)
    step, elapsed, episodes = 0, 0.0, 0
    snapshots: list[dict[str, Any]] = []
    train_returns: list[tuple[int, float]] = []

    if ckpt_path.exists():
        ck = load_state(ckpt_path)
        agent.load_state_dict(ck["agent"])
        n = ck["replay_size"]
        for name in ("states", "actions", "rewards", "next_states", "dones"):
            getattr(replay, name)[:n] = ck["replay"][name]
        replay.size = replay.position = n
        rng.bit_generator.state = ck["rng"]
        step, elapsed, episodes = ck["step"], ck["elapsed"], ck["episodes"]
        snapshots, train_returns = ck["snapshots"], ck["train_returns"]
        print(f"[{config.env_id}] resumed at step {step} ({elapsed:.0f} s)", flush=True)

    def manifest(finished: bool) -> dict[str, Any]:
        return {
            "env_id": config.env_id, "algorithm": config.algorithm.upper(), "config": asdict(config),
            "agent_config": agent.config.to_dict(), "state_dim": state_dim,
            "action_dim": action_dim, "steps": step, "wall_seconds": round(elapsed, 1),
            "steps_per_second": round(step / max(elapsed, 1e-9), 1),
            "torch_threads": torch.get_num_threads(), "finished": finished,
            "snapshots": snapshots, "train_returns": train_returns,
        }

    def checkpoint() -> None:
        n = replay.size
        save_state(ckpt_path, {
            "agent": agent.state_dict(), "replay_size": n,
            "replay": {name: getattr(replay, name)[:n].copy()
                       for name in ("states", "actions", "rewards", "next_states", "dones")},
            "rng": rng.bit_generator.state, "step": step, "elapsed": elapsed,
            "episodes": episodes, "snapshots": snapshots, "train_returns": train_returns,
        })
        _save_json(manifest_path, manifest(False))

    obs, _ = env.reset(seed=config.seed + episodes)
    episode_return = 0.0
    start = time.perf_counter() - elapsed
    while step < config.max_steps and elapsed < config.budget_s:
        if step < config.start_steps:
            action = rng.uniform(-max_action, max_action, action_dim).astype(np.float32)
        else:
            action = exploration_action(agent, obs, rng, config, max_action)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        replay.add(obs, action, float(reward), next_obs, bool(terminated))
        obs, episode_return = next_obs, episode_return + float(reward)
        step += 1
        if terminated or truncated:
            train_returns.append((step, round(episode_return, 2)))
            episodes += 1
            obs, _ = env.reset(seed=config.seed + episodes)
            episode_return = 0.0
        if step >= config.start_steps:
            agent.update(replay.sample(config.batch_size, rng))
        elapsed = time.perf_counter() - start
        if step % config.snapshot_every == 0:
            path = snap_dir / f"step_{step:07d}.pt"
            actor = deterministic_actor(agent.actor)  # type: ignore[attr-defined]
            torch.save(actor.state_dict(), path)
            returns = evaluate(torch_policy(actor), config.env_id, config.eval_episodes,
                               seeds.BEHAVIOUR_EVALUATION(0))
            snapshots.append({"step": step, "file": f"snapshots/{path.name}",
                              "eval_return_mean": round(float(np.mean(returns)), 2),
                              "eval_return_std": round(float(np.std(returns)), 2),
                              "elapsed_s": round(elapsed, 1)})
            print(f"[{config.env_id}] step {step} eval {np.mean(returns):.1f} "
                  f"({elapsed:.0f} s, {step / elapsed:.0f} steps/s)", flush=True)
            elapsed = time.perf_counter() - start
        if step % config.checkpoint_every == 0:
            checkpoint()
    checkpoint()
    result = manifest(True)
    _save_json(manifest_path, result)
    env.close()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", default=list(LOCOMOTION_ENVS))
    parser.add_argument("--budget-s", type=float, default=1320.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--algorithm", choices=BEHAVIOUR_ALGORITHMS, default="td3")
    parser.add_argument("--batch-size", type=int, default=BehaviourConfig.batch_size)
    parser.add_argument("--max-steps", type=int, default=BehaviourConfig.max_steps)
    parser.add_argument("--root", type=Path, default=None,
                        help="where <env>/ goes (default: data/behaviour)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for env_id in args.envs:
        config = BehaviourConfig(env_id, seed=args.seed, budget_s=args.budget_s,
                                 max_steps=args.max_steps, batch_size=args.batch_size,
                                 algorithm=args.algorithm)
        result = train_behaviour(config, args.root)
        print(f"[{env_id}] done: {result['steps']} steps in {result['wall_seconds']} s", flush=True)


if __name__ == "__main__":
    main()
