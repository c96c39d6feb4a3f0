"""Behaviour agents for the locally generated D4RL-style datasets.

An online TD3 agent is trained on a MuJoCo environment within a wall-clock budget; its actor is
saved every ``snapshot_every`` steps together with its evaluation return. The datasets are then
rolled out from these snapshots (see :mod:`seemrepro.datasets.generate`), so only the small actor
files and the manifest need to be kept, not the transitions.

The job is checkpointed (agent, replay buffer, RNG states, elapsed time) so an interrupted run
resumes where it stopped: ``python -m seemrepro.datasets.behaviour Hopper-v5 Walker2d-v5``.
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

from seemrepro import seeds
from seemrepro.rl.agents.td3 import TD3, TD3Config
from seemrepro.rl.buffers import ReplayBuffer
from seemrepro.rl.evaluation import evaluate, torch_policy
from seemrepro.rl.networks import DeterministicActor
from seemrepro.runtime import atomic_write, load_state, project_root, save_state, seed_everything

LOCOMOTION_ENVS: tuple[str, ...] = ("Hopper-v5", "Walker2d-v5", "HalfCheetah-v5")


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


def load_actor(path: Path, state_dim: int, action_dim: int,
               hidden: tuple[int, ...] = (256, 256)) -> DeterministicActor:
    actor = DeterministicActor(state_dim, action_dim, hidden)
    actor.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    actor.eval()
    return actor


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
    agent = TD3(state_dim, action_dim, TD3Config(max_action=max_action), seed=config.seed)
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
            "env_id": config.env_id, "algorithm": "TD3", "config": asdict(config),
            "td3_config": agent.config.to_dict(), "state_dim": state_dim,
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
            mean = agent.act(torch.as_tensor(obs, dtype=torch.float32)).numpy()
            noise = rng.normal(0.0, config.expl_noise * max_action, action_dim)
            action = np.clip(mean + noise, -max_action, max_action).astype(np.float32)
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
            torch.save(agent.actor.state_dict(), path)
            returns = evaluate(torch_policy(agent.actor), config.env_id, config.eval_episodes,
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
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for env_id in args.envs:
        result = train_behaviour(BehaviourConfig(env_id, seed=args.seed, budget_s=args.budget_s))
        print(f"[{env_id}] done: {result['steps']} steps in {result['wall_seconds']} s", flush=True)


if __name__ == "__main__":
    main()
