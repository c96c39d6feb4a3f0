"""Locally generated D4RL-style datasets, written in Minari format.

For each locomotion environment (Hopper, Walker2d, HalfCheetah, all v5) the datasets follow
D4RL's definitions, rolled out from the behaviour snapshots committed for their version
(:data:`DATASET_VERSIONS`: ``-v0`` from the TD3 runs under ``data/behaviour``, ``-v1`` from
longer SAC runs under ``data/behaviour-v1``, for the environments that have one):

* ``random``: a uniform random policy;
* ``medium``: the snapshot whose evaluation return is about one third of the expert's;
* ``medium-replay``: what the agent experienced until it reached medium, reconstructed from the
  snapshots (uniform actions for the first ``start_steps``, then each snapshot with the training
  exploration noise for the steps it was in charge of);
* ``expert``: the best snapshot; ``medium-expert``: medium and expert episodes concatenated.

Policy datasets add Gaussian noise (σ = 0.1 · max action, the training exploration noise) to the
deterministic actor (TD3's, or SAC's Gaussian mean), standing in for the stochastic SAC
policies D4RL sampled from.
Reference scores: the uniform random policy's mean return (``ref_min``) and the noise-free
expert's mean return (``ref_max``), each over ``REF_EPISODES`` evaluation episodes.

PointMaze datasets (D4RL's maze2d recipe) come from :mod:`seemrepro.datasets.maze`.

``python -m seemrepro.datasets.generate`` (= ``make data``) writes everything into
``data/minari``; ``--only`` picks datasets, ``--scale`` shrinks them (tests, smoke runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from seemrepro import seeds
from seemrepro.datasets.behaviour import LOCOMOTION_ENVS, behaviour_dir, env_slug
from seemrepro.datasets.episodes import REF_EPISODES, Episode, Generated, summarize, write_dataset
from seemrepro.datasets.minari_io import PROJECT_NAMESPACE, project_datasets_root
from seemrepro.rl.evaluation import evaluate_returns
from seemrepro.runtime import project_root

LOCOMOTION_KINDS: tuple[str, ...] = ("random", "medium", "medium-replay", "expert", "medium-expert")
POLICY_STEPS = 200_000
DATA_NOISE = 0.1
# dataset version -> the folder under data/ holding its behaviour recipes
DATASET_VERSIONS: dict[str, str] = {"v0": "behaviour", "v1": "behaviour-v1"}
DEFAULT_VERSION = "v0"

Policy = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def check_version(version: str) -> str:
    if version not in DATASET_VERSIONS:
        raise ValueError(f"unknown dataset version {version!r}; known: "
                         f"{', '.join(DATASET_VERSIONS)}")
    return version


def dataset_id(env_id: str, kind: str, version: str = DEFAULT_VERSION) -> str:
    return f"{PROJECT_NAMESPACE}/{env_slug(env_id)}/{kind}-{check_version(version)}"


def behaviour_root(version: str = DEFAULT_VERSION) -> Path:
    """The committed behaviour recipes of a dataset version (one folder per environment)."""
    return project_root() / "data" / DATASET_VERSIONS[check_version(version)]


def has_recipe(env_id: str, version: str) -> bool:
    return (behaviour_dir(env_id, behaviour_root(version)) / "recipe.json").is_file()


class NumpyActor:
    """The behaviour actor in float64 NumPy: one state per step costs microseconds, not a torch call."""

    def __init__(self, path: Path, max_action: float) -> None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.mean = state["state_mean"].double().numpy()
        self.std = state["state_std"].double().numpy()
        layers = sorted({int(k.split(".")[1]) for k in state if k.startswith("net.")})
        self.weights = [(state[f"net.{i}.weight"].double().numpy().T,
                         state[f"net.{i}.bias"].double().numpy()) for i in layers]
        self.max_action = max_action

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        h = (np.asarray(obs, dtype=np.float64) - self.mean) / self.std
        for k, (w, b) in enumerate(self.weights):
            h = h @ w + b
            if k < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return self.max_action * np.tanh(h)


def uniform_policy(space: gym.spaces.Box) -> Policy:
    return lambda obs, rng: rng.uniform(space.low, space.high).astype(np.float32)


def noisy_policy(actor: NumpyActor, noise: float) -> Policy:
    def act(obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        a = actor(obs) + rng.normal(0.0, noise * actor.max_action, actor.weights[-1][1].shape)
        return np.clip(a, -actor.max_action, actor.max_action).astype(np.float32)
    return act


def rollout(env: gym.Env, policy: Policy, steps: int, seed: int,
            progress: tqdm | None = None) -> list[Episode]:
    """Whole episodes until ``steps`` transitions; the last one is cut there (marked truncated).

    Episode ``k`` resets with seed ``seed + k`` and the action noise comes from a generator seeded
    with ``seed``, so the result depends only on the policy, ``steps`` and ``seed``.
    """
    rng = np.random.default_rng(seed)
    episodes: list[Episode] = []
    total = 0
    while total < steps:
        obs, _ = env.reset(seed=seed + len(episodes))
        obs_l, act_l, rew_l, term_l, trunc_l = [obs], [], [], [], []
        done = False
        while not done and total < steps:
            action = policy(obs, rng)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += 1
            done = terminated or truncated
            cut = not done and total >= steps
            obs_l.append(obs)
            act_l.append(action)
            rew_l.append(reward)
            term_l.append(terminated)
            trunc_l.append(bool(truncated) or cut)
        if progress is not None:
            progress.update(len(act_l))
        episodes.append(Episode(
            np.asarray(obs_l, np.float32), np.asarray(act_l, np.float32),
            np.asarray(rew_l, np.float32), np.asarray(term_l, bool), np.asarray(trunc_l, bool),
            seed + len(episodes)))
    return episodes


def load_recipe(env_id: str, recipes: Path | None = None) -> dict[str, Any]:
    path = behaviour_dir(env_id, recipes) / "recipe.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no behaviour recipe for {env_id} at {path}: train the behaviour agent with "
            f"`python -m seemrepro.datasets.behaviour {env_id}` and then run "
            f"`python -m seemrepro.datasets.recipe {env_id}`")
    return dict(json.loads(path.read_text()))


def reference_scores_for(env_id: str, recipe: dict[str, Any] | None, episodes: int,
                         recipes: Path | None = None) -> tuple[float, float | None]:
    env = gym.make(env_id)
    ref_min = float(np.mean(evaluate_returns(env, None, episodes, seeds.REFERENCE_SCORES(0))))
    ref_max = None
    if recipe is not None:
        actor = NumpyActor(behaviour_dir(env_id, recipes) / recipe["expert"]["file"],
                           float(env.action_space.high[0]))  # type: ignore[attr-defined]
        ref_max = float(np.mean(evaluate_returns(env, actor, episodes, seeds.REFERENCE_SCORES(50_000))))
    env.close()
    return ref_min, ref_max


def generate_locomotion(env_id: str, kinds: Sequence[str] = LOCOMOTION_KINDS, *,
                        root: Path | None = None, scale: float = 1.0,
                        version: str = DEFAULT_VERSION, recipes: Path | None = None,
                        ref_episodes: int = REF_EPISODES,
                        progress: bool = True) -> list[Generated]:
    """Write the ``kinds`` of ``env_id``'s datasets of ``version``, rolled out from the
    version's recipe (or the one under ``recipes``)."""
    root = root or project_datasets_root()
    recipes = recipes or behaviour_root(version)
    root.mkdir(parents=True, exist_ok=True)
    needs_policy = any(k != "random" for k in kinds)
    recipe = load_recipe(env_id, recipes) if needs_policy else None
    if recipe is None:
        with contextlib.suppress(FileNotFoundError):
            recipe = load_recipe(env_id, recipes)
    env = gym.make(env_id)
    max_action = float(env.action_space.high[0])  # type: ignore[attr-defined]
    bdir = behaviour_dir(env_id, recipes)
    n = max(1, round(POLICY_STEPS * scale))
    ref_min, ref_max = reference_scores_for(env_id, recipe, ref_episodes, recipes)
    refs = {"ref_min": ref_min, "ref_max": ref_max} if ref_max is not None else {}
    results: list[Generated] = []
    cache: dict[str, list[Episode]] = {}

    def policy_episodes(kind: str) -> list[Episode]:
        if kind in cache:
            return cache[kind]
        with tqdm(total=n, desc=dataset_id(env_id, kind, version), disable=not progress,
                  unit="step", leave=False) as bar:
            if kind == "random":
                eps = rollout(env, uniform_policy(env.action_space), n,  # type: ignore[arg-type]
                              seeds.DATASET_KINDS[kind](0), bar)
            elif kind in ("medium", "expert"):
                assert recipe is not None
                actor = NumpyActor(bdir / recipe[kind]["file"], max_action)
                eps = rollout(env, noisy_policy(actor, DATA_NOISE), n, seeds.DATASET_KINDS[kind](0), bar)
            else:
                raise ValueError(kind)
        cache[kind] = eps
        return eps

    def replay_episodes() -> list[Episode]:
        assert recipe is not None
        phases = [(None, recipe["start_steps"])] + [
            (p["file"], p["steps"]) for p in recipe["replay"]]
        phases = [(f, max(1, round(s * scale))) for f, s in phases]
        eps: list[Episode] = []
        with tqdm(total=sum(s for _, s in phases), desc=dataset_id(env_id, "medium-replay", version),
                  disable=not progress, unit="step", leave=False) as bar:
            for k, (file, steps) in enumerate(phases):
                policy = (uniform_policy(env.action_space) if file is None  # type: ignore[arg-type]
                          else noisy_policy(NumpyActor(bdir / file, max_action),
                                            recipe["expl_noise"]))
                eps += rollout(env, policy, steps, seeds.DATASET_KINDS["medium-replay"](10_000 * k), bar)
        return eps

    algorithm = recipe["algorithm"] if recipe else "?"
    descriptions = {
        "random": "uniform random actions",
        "medium": f"medium {algorithm} snapshot (step {recipe['medium']['step'] if recipe else '?'}) "
                  f"with N(0, {DATA_NOISE}) action noise",
        "expert": f"expert {algorithm} snapshot (step {recipe['expert']['step'] if recipe else '?'}) "
                  f"with N(0, {DATA_NOISE}) action noise",
        "medium-replay": "training experience up to the medium snapshot, reconstructed from "
                         "the actor snapshots with the training exploration noise",
        "medium-expert": "medium and expert episodes concatenated",
    }
    for kind in kinds:
        t0 = time.perf_counter()
        if kind == "medium-replay":
            eps = replay_episodes()
        elif kind == "medium-expert":
            eps = policy_episodes("medium") + policy_episodes("expert")
        else:
            eps = policy_episodes(kind)
        ds_id = dataset_id(env_id, kind, version)
        path = write_dataset(root, ds_id, eps, env_id, ref_min=refs.get("ref_min"),
                             ref_max=refs.get("ref_max"), ref_episodes=ref_episodes,
                             description=descriptions[kind] + f" (scale {scale:g})")
        results.append(summarize(ds_id, eps, time.perf_counter() - t0, path))
    env.close()
    return results


MAZE_FAMILY = "pointmaze"
MAZE_KINDS: tuple[str, ...] = ("umaze", "medium", "large")


Family = tuple[str, str]  # (env id or MAZE_FAMILY, dataset version)


def parse_only(only: Sequence[str]) -> dict[Family, list[str]]:
    """``seemrepro/hopper/medium-v1``, ``hopper/medium``, ``hopper`` → {(env_id, version): [kinds]}.

    A kind without a version suffix (and a bare family) means :data:`DEFAULT_VERSION`.
    PointMaze datasets are planned under the key ``pointmaze`` with the maze names as kinds.
    """
    families = {env_slug(e): (e, LOCOMOTION_KINDS) for e in LOCOMOTION_ENVS}
    families[MAZE_FAMILY] = (MAZE_FAMILY, MAZE_KINDS)
    plan: dict[Family, list[str]] = {}
    for item in only:
        parts = item.removeprefix(f"{PROJECT_NAMESPACE}/").split("/")
        if parts[0] not in families:
            raise ValueError(f"unknown dataset family {parts[0]!r}; known: {', '.join(families)}")
        key, known = families[parts[0]]
        if len(parts) == 1:
            kinds = plan.setdefault((key, DEFAULT_VERSION), [])
            kinds += [k for k in known if k not in kinds]
            continue
        versioned = re.fullmatch(r"(.+)-(v\d+)", parts[1])
        kind, version = versioned.groups() if versioned else (parts[1], DEFAULT_VERSION)
        if kind not in known:
            raise ValueError(f"unknown dataset kind {kind!r}; known: {', '.join(known)}")
        if key == MAZE_FAMILY and version != DEFAULT_VERSION:
            raise ValueError(f"unknown dataset version {version!r} for {MAZE_FAMILY}; "
                             f"known: {DEFAULT_VERSION}")
        kinds = plan.setdefault((key, check_version(version)), [])
        if kind not in kinds:
            kinds.append(kind)
    return {(key, version): [k for k in families[key if key == MAZE_FAMILY else env_slug(key)][1]
                             if k in kinds] for (key, version), kinds in plan.items()}


def all_datasets() -> dict[Family, list[str]]:
    """Every dataset ``make data`` writes: each version of each environment that has a
    committed recipe (``-v0`` always), and the mazes."""
    plan: dict[Family, list[str]] = {(e, DEFAULT_VERSION): list(LOCOMOTION_KINDS)
                                     for e in LOCOMOTION_ENVS}
    plan |= {(e, v): list(LOCOMOTION_KINDS) for v in DATASET_VERSIONS if v != DEFAULT_VERSION
             for e in LOCOMOTION_ENVS if has_recipe(e, v)}
    return plan | {(MAZE_FAMILY, DEFAULT_VERSION): list(MAZE_KINDS)}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def without_present(plan: dict[Family, list[str]], root: Path) -> dict[Family, list[str]]:
    """``plan`` less the datasets already complete under ``root`` (an integrity record that
    matches the files' sizes); a missing, partial or corrupt one stays in the plan."""
    from seemrepro.datasets.maze import maze_dataset_id
    from seemrepro.datasets.minari_io import DatasetCorruptError, check_integrity

    def present(family: Family, kind: str) -> bool:
        key, version = family
        name = maze_dataset_id(kind) if key == MAZE_FAMILY else dataset_id(key, kind, version)
        try:
            check_integrity(name, root.joinpath(*name.split("/")))
        except (DatasetCorruptError, OSError):  # missing, partial or unreadable: generate it
            return False
        return True

    left = {key: [k for k in kinds if not present(key, k)] for key, kinds in plan.items()}
    return {key: kinds for key, kinds in left.items() if kinds}


def generate_family(family: Family, kinds: Sequence[str], root: Path, scale: float, *,
                    ref_episodes: int = REF_EPISODES, progress: bool = True) -> list[Generated]:
    """The ``kinds`` of one planned family, in the recipe's order (``medium-expert`` reuses the
    medium and expert episodes of the same call)."""
    key, version = family
    if key == MAZE_FAMILY:
        from seemrepro.datasets.maze import generate_maze

        return generate_maze(kinds, root=root, scale=scale, ref_episodes=ref_episodes,
                             progress=progress)
    return generate_locomotion(key, kinds, root=root, scale=scale, version=version,
                               ref_episodes=ref_episodes, progress=progress)


def generate_family_in_worker(family: Family, kinds: Sequence[str], root: Path,
                              scale: float) -> list[Generated]:
    torch.set_num_threads(1)
    return generate_family(family, kinds, root, scale, progress=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the project's D4RL-style datasets.")
    parser.add_argument("--only", nargs="*", default=None,
                        help="dataset ids or families (hopper, hopper/medium, hopper/medium-v1, "
                             "pointmaze/umaze, seemrepro/...)")
    parser.add_argument("--root", type=Path, default=None, help="Minari root to write into")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument("--missing", action="store_true",
                        help="skip the datasets that are already complete")
    parser.add_argument("--jobs", type=int, default=2,
                        help="families generated in parallel (one process each)")
    args = parser.parse_args(argv)
    plan = parse_only(args.only) if args.only else all_datasets()
    root = args.root or project_datasets_root()
    root.mkdir(parents=True, exist_ok=True)
    if args.missing:
        plan = without_present(plan, root)
    start = time.perf_counter()
    rows: list[Generated] = []

    def report(done: list[Generated]) -> None:
        for r in done:
            print(f"{r.dataset_id:38s} {r.transitions:8d} steps {r.episodes:6d} episodes  "
                  f"return {r.return_mean:9.1f} ± {r.return_std:7.1f}  "
                  f"{dir_size(r.path) / 1e6:6.1f} MB  {r.seconds:5.1f} s", flush=True)
        rows.extend(done)

    if args.jobs <= 1 or len(plan) == 1:
        torch.set_num_threads(1)
        for key, kinds in plan.items():
            report(generate_family(key, kinds, root, args.scale))
    else:
        # each family seeds its own rollouts, so running them in parallel changes nothing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(generate_family_in_worker, key, kinds, root, args.scale)
                       for key, kinds in plan.items()]
            for future in as_completed(futures):
                report(future.result())
    print(f"{len(rows)} datasets in {root} ({dir_size(root) / 1e6:.1f} MB) "
          f"in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
