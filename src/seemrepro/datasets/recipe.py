"""Choosing the medium and expert snapshots of a behaviour run, and keeping only those needed.

The expert is the best snapshot (its evaluation re-checked on more episodes, since ten
episodes are noisy). Medium stands for D4RL's training run stopped early at about one third of
the expert's return (``target``); among the snapshots up to the first one that reaches the
target, it is

* ``closest`` (the ``-v0`` recipes): the one whose return is closest to the target, which can be
  an early lucky evaluation long before training got there;
* ``crossing`` (later recipes): the closer of the two snapshots around that first crossing, i.e.
  training stopped when it first got near the target.

Medium-replay is the experience before medium: each earlier snapshot in charge of the steps
until the next one kept. At most ``max_replay_actors`` of them are kept (evenly spaced, each
then in charge of several snapshot intervals), so a long run's recipe stays a few megabytes.
The chosen actors are copied to ``actors/`` and listed in ``recipe.json``; both are committed,
the full snapshot folder is not.

``python -m seemrepro.datasets.recipe Hopper-v5 ...`` (``--from runs/behaviour --version v1``
makes the recipe of a dataset version from a run trained elsewhere).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from seemrepro import seeds
from seemrepro.datasets.behaviour import LOCOMOTION_ENVS, behaviour_dir
from seemrepro.datasets.generate import NumpyActor
from seemrepro.rl.evaluation import evaluate_returns

RECHECK_TOP = 3
RECHECK_EPISODES = 20
MEDIUM_RULES: tuple[str, ...] = ("closest", "crossing")
# per dataset version: its medium rule and cap on replay actors (v0's recipes predate both)
RECIPE_RULES: dict[str, tuple[str, int | None]] = {"v0": ("closest", None), "v1": ("crossing", 6)}


def choose_medium(snapshots: list[dict[str, Any]], target: float, rule: str) -> dict[str, Any]:
    """The medium snapshot for ``target`` under ``rule`` (see the module docstring)."""
    if rule not in MEDIUM_RULES:
        raise ValueError(f"unknown medium rule {rule!r}; known: {', '.join(MEDIUM_RULES)}")
    candidates: list[dict[str, Any]] = []
    for s in snapshots:
        candidates.append(s)
        if s["eval_return_mean"] >= target:
            break
    if rule == "crossing":
        candidates = candidates[-2:]
    return min(candidates, key=lambda s: abs(s["eval_return_mean"] - target))


def replay_phases(snapshots: list[dict[str, Any]], medium_step: int,
                  max_actors: int | None = None) -> list[tuple[dict[str, Any], int]]:
    """The snapshots before ``medium_step`` that medium-replay rolls out, each with the number
    of steps it is in charge of (until the next one kept, or medium). With ``max_actors``,
    every k-th snapshot is kept, with k the smallest stride that keeps at most that many."""
    if max_actors is not None and max_actors < 1:
        raise ValueError(f"max_actors must be at least 1, got {max_actors}")
    before = [s for s in snapshots if s["step"] < medium_step]
    stride = 1 if max_actors is None else max(1, -(-len(before) // max_actors))
    kept = before[::stride]
    ends = [s["step"] for s in kept[1:]] + [medium_step]
    return [(s, end - s["step"]) for s, end in zip(kept, ends)]


def build_recipe(env_id: str, root: Path | None = None, medium_ratio: float = 1 / 3, *,
                 out: Path | None = None, medium_rule: str = "closest",
                 max_replay_actors: int | None = None) -> dict[str, Any]:
    """Choose the snapshots of the behaviour run under ``root`` and write ``recipe.json``,
    the chosen actors and (when ``out`` is another folder) the run's manifest into
    ``out/<env>`` (default: the run's own folder)."""
    bdir = behaviour_dir(env_id, root)
    target_dir = behaviour_dir(env_id, out) if out is not None else bdir
    if not (bdir / "manifest.json").is_file():
        raise FileNotFoundError(
            f"{env_id}: no behaviour run in {bdir} (train one first: python -m "
            f"seemrepro.datasets.behaviour {env_id} --root {bdir.parent})")
    manifest = json.loads((bdir / "manifest.json").read_text())
    cfg = manifest["config"]
    snaps = [s for s in manifest["snapshots"] if s["step"] >= cfg["start_steps"]]
    if not snaps:
        raise ValueError(f"{env_id}: no trained snapshots in {bdir / 'manifest.json'}")
    env = gym.make(env_id)
    max_action = float(env.action_space.high[0])  # type: ignore[attr-defined]
    top = sorted(snaps, key=lambda s: (s["eval_return_mean"], s["step"]))[-RECHECK_TOP:]
    rechecked = {s["step"]: float(np.mean(evaluate_returns(
        env, NumpyActor(bdir / s["file"], max_action), RECHECK_EPISODES, seeds.RECIPE_RECHECK(0))))
        for s in top}
    env.close()
    expert = max(top, key=lambda s: (rechecked[s["step"]], s["step"]))
    target = medium_ratio * rechecked[expert["step"]]
    medium = choose_medium(snaps, target, medium_rule)

    target_dir.mkdir(parents=True, exist_ok=True)
    actors = target_dir / "actors"
    shutil.rmtree(actors, ignore_errors=True)
    actors.mkdir()
    if target_dir != bdir:
        shutil.copy(bdir / "manifest.json", target_dir / "manifest.json")

    def keep(snap: dict[str, Any]) -> str:
        name = Path(snap["file"]).name
        shutil.copy(bdir / snap["file"], actors / name)
        return f"actors/{name}"

    every = int(cfg["snapshot_every"])
    replay = [{"step": s["step"], "file": keep(s), "steps": steps}
              for s, steps in replay_phases(snaps, medium["step"], max_replay_actors)]
    recipe = {
        "env_id": env_id, "algorithm": manifest["algorithm"],
        "training_steps": manifest["steps"], "training_wall_seconds": manifest["wall_seconds"],
        "start_steps": cfg["start_steps"], "snapshot_every": every,
        "expl_noise": cfg["expl_noise"], "medium_ratio": medium_ratio,
        "medium_rule": medium_rule, "max_replay_actors": max_replay_actors,
        "expert": {"step": expert["step"], "file": keep(expert),
                   "eval_return_mean": expert["eval_return_mean"],
                   "recheck_return_mean": round(rechecked[expert["step"]], 2)},
        "medium": {"step": medium["step"], "file": keep(medium),
                   "eval_return_mean": medium["eval_return_mean"], "target": round(target, 2)},
        "replay": replay,
    }
    (target_dir / "recipe.json").write_text(json.dumps(recipe, indent=1))
    return recipe


def main(argv: list[str] | None = None) -> None:
    from seemrepro.datasets.generate import DATASET_VERSIONS, behaviour_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", default=list(LOCOMOTION_ENVS))
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="the behaviour runs' root (default: the version's own folder)")
    parser.add_argument("--version", choices=list(DATASET_VERSIONS), default="v0",
                        help="the dataset version whose recipe is written")
    args = parser.parse_args(argv)
    unknown = [e for e in args.envs if e not in LOCOMOTION_ENVS]
    if unknown:
        parser.error(f"unknown environment(s) {', '.join(unknown)}; known: "
                     f"{', '.join(LOCOMOTION_ENVS)}")
    rule, max_actors = RECIPE_RULES[args.version]
    for env_id in args.envs:
        try:
            r = build_recipe(env_id, args.source or behaviour_root(args.version),
                             out=behaviour_root(args.version), medium_rule=rule,
                             max_replay_actors=max_actors)
        except (FileNotFoundError, ValueError) as error:
            parser.exit(1, f"error: {error}\n")
        print(f"{env_id}: expert step {r['expert']['step']} "
              f"({r['expert']['recheck_return_mean']:.0f}), medium step {r['medium']['step']} "
              f"({r['medium']['eval_return_mean']:.0f}), {len(r['replay'])} replay snapshots")


if __name__ == "__main__":
    main()
