"""Choosing the medium and expert snapshots of a behaviour run, and keeping only those needed.

The expert is the best snapshot (its evaluation re-checked on more episodes, since ten
episodes are noisy); medium is the snapshot closest to one third of the expert's return among
those up to the first one that reaches it, as D4RL's medium policies were training runs stopped
early. Medium-replay needs every snapshot before medium. The chosen actors are copied to
``actors/`` and listed in ``recipe.json``; both are committed, the full snapshot folder is not.

``python -m seemrepro.datasets.recipe Hopper-v5 ...``
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


def build_recipe(env_id: str, root: Path | None = None, medium_ratio: float = 1 / 3) -> dict[str, Any]:
    bdir = behaviour_dir(env_id, root)
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
    candidates: list[dict[str, Any]] = []
    for s in snaps:
        candidates.append(s)
        if s["eval_return_mean"] >= target:
            break
    medium = min(candidates, key=lambda s: abs(s["eval_return_mean"] - target))

    actors = bdir / "actors"
    shutil.rmtree(actors, ignore_errors=True)
    actors.mkdir()

    def keep(snap: dict[str, Any]) -> str:
        name = Path(snap["file"]).name
        shutil.copy(bdir / snap["file"], actors / name)
        return f"actors/{name}"

    every = int(cfg["snapshot_every"])
    replay = [{"step": s["step"], "file": keep(s),
               "steps": min(every, medium["step"] - s["step"])}
              for s in snaps if s["step"] < medium["step"]]
    recipe = {
        "env_id": env_id, "algorithm": manifest["algorithm"],
        "training_steps": manifest["steps"], "training_wall_seconds": manifest["wall_seconds"],
        "start_steps": cfg["start_steps"], "snapshot_every": every,
        "expl_noise": cfg["expl_noise"], "medium_ratio": medium_ratio,
        "expert": {"step": expert["step"], "file": keep(expert),
                   "eval_return_mean": expert["eval_return_mean"],
                   "recheck_return_mean": round(rechecked[expert["step"]], 2)},
        "medium": {"step": medium["step"], "file": keep(medium),
                   "eval_return_mean": medium["eval_return_mean"], "target": round(target, 2)},
        "replay": replay,
    }
    (bdir / "recipe.json").write_text(json.dumps(recipe, indent=1))
    return recipe


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("envs", nargs="*", default=list(LOCOMOTION_ENVS))
    args = parser.parse_args(argv)
    for env_id in args.envs:
        r = build_recipe(env_id)
        print(f"{env_id}: expert step {r['expert']['step']} "
              f"({r['expert']['recheck_return_mean']:.0f}), medium step {r['medium']['step']} "
              f"({r['medium']['eval_return_mean']:.0f}), {len(r['replay'])} replay snapshots")


if __name__ == "__main__":
    main()
