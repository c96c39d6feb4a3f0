# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Appendix · Datasets: D4RL-style data generated here, in Minari format
#
# The paper trains on D4RL: hopper, walker2d and halfcheetah, each as *medium*,
# *medium-replay* and *medium-expert*, plus AntMaze. These datasets cannot be downloaded on the
# machines this book is built on, and Minari's own MuJoCo datasets were re-collected on the v5
# environments. So the project does two things:
#
# * `seemrepro.datasets.load(id)` reads **any** Minari dataset by id (`mujoco/hopper/medium-v0`,
#   `D4RL/antmaze/large-play-v1`, …) where a user has it, locally first. The network is used only
#   with `download=True`; otherwise a missing dataset fails at once with the list of local
#   datasets and the command that creates or fetches it.
# * `make data` (`python -m seemrepro.datasets.generate`) **generates** D4RL-style datasets for
#   Hopper-v5, Walker2d-v5 and HalfCheetah-v5 with D4RL's recipe, from behaviour-policy
#   snapshots committed in `data/behaviour/`. They are written with Minari under ids such as
#   `seemrepro/hopper/medium-v0`. Version 1 (`seemrepro/hopper/medium-v1`) has the same recipe
#   with stronger SAC behaviour agents (`data/behaviour-v1/`), for the environments trained so
#   far; see [below](#version-1).
# * For the mazes, it generates **PointMaze** datasets (Gymnasium-Robotics; umaze, medium,
#   large) with D4RL's *maze2d* recipe. They stand in for AntMaze, whose real Minari datasets
#   (`D4RL/antmaze/...`) load the same way when present.
#
# **Recipe.** A TD3 agent (the project's own, `seemrepro.rl.agents.td3`) is trained online on each
# environment within a fixed wall-clock budget; its actor is saved every 5,000 steps with its
# evaluation return. Then, as D4RL defines them:
#
# | dataset | behaviour |
# |---|---|
# | random | uniform random actions |
# | medium | the snapshot closest to one third of the expert's return (first crossing) |
# | medium-replay | the agent's experience until medium, **reconstructed** from the snapshots: uniform actions for the first 10,000 steps, then each snapshot, with the training noise, for the 5,000 steps it was in charge of |
# | expert | the best snapshot |
# | medium-expert | medium and expert episodes concatenated |
#
# Medium and expert data add Gaussian noise $\mathcal N(0, 0.1^2)$ to the deterministic TD3
# actions, standing in for the stochastic SAC policies D4RL sampled from. Reference scores
# for the normalized score, $100\cdot(R - R_\text{random})/(R_\text{expert} - R_\text{random})$:
# the uniform random policy's mean return and the noise-free expert's, each over 50 episodes.
#
# **Mazes** (D4RL's maze2d): a planner picks the next waypoint on a shortest path through the
# maze cells and a PD controller drives the point mass there,
# $a = \mathrm{clip}(10\,(w - x) - v + \mathcal N(0, 0.5^2), -1, 1)$; the goal is resampled
# each time it is reached, and the reward is sparse (1 within 0.45 of the goal). Observations
# are Minari dicts; `load` flattens them as (observation, goal), as d3rlpy and CORL do.
# Reference scores: the uniform random policy and the noise-free controller.
#
# The smoke profile (tests, CI) generates every dataset at 1% of its size into a temporary
# folder from the committed snapshots, in seconds; the book profile reads the full datasets
# of `make data` (and generates whichever are missing).

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.datasets import load, normalized_score, project_datasets_root, subset
from seemrepro.datasets.behaviour import LOCOMOTION_ENVS, env_slug
from seemrepro.datasets.generate import LOCOMOTION_KINDS, dataset_id, has_recipe
from seemrepro.datasets.maze import MAZES, maze_dataset_id
from seemrepro.datasets.smoke import generate_missing, smoke_root
from seemrepro.datasets.summary import behaviour_table, complete_episode_returns, summary_table
from seemrepro.plots.datasets import return_histograms
from seemrepro.runtime import by_profile, project_root, set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %%
scale = by_profile(profile, smoke=0.01, book=1.0, paper=1.0)
ref_episodes = by_profile(profile, smoke=3, book=50, paper=50)
ids = [dataset_id(e, k) for e in LOCOMOTION_ENVS for k in LOCOMOTION_KINDS]
ids += [maze_dataset_id(m) for m in MAZES]
V1_ENVS = [e for e in LOCOMOTION_ENVS if has_recipe(e, "v1")]
ids += [dataset_id(e, k, "v1") for e in V1_ENVS for k in LOCOMOTION_KINDS]
if scale < 1.0:
    root = smoke_root(ids, scale=scale, ref_episodes=ref_episodes)
else:
    root = project_datasets_root()
    generate_missing(ids, root=root, scale=scale, ref_episodes=ref_episodes)
data = {i: load(i, root=root) for i in ids}
where = (root.relative_to(project_root()).as_posix() if root.is_relative_to(project_root())
         else "a folder outside the project") if scale == 1.0 else "a temporary folder"
print(f"{len(data)} datasets from {where} (scale {scale:g})")

# %% [markdown]
# ## The behaviour agents
#
# One TD3 run per environment (batch 100, one CPU thread shared with other jobs), trained
# online within a wall-clock budget after a phase of uniform-random actions. The table gives
# each run's budget, steps and returns, as recorded in `data/behaviour/<env>/recipe.json`.
# D4RL's reference experts score 3,234 on hopper, 4,592 on walker2d and 12,135 on halfcheetah
# (v2 environments; ours are v5).

# %%
behaviours = behaviour_table(["v0", "v1"])
behaviour = behaviours.xs("v0", level="version")
plots.table(behaviour.drop(columns="share of D4RL expert"), precision=1)

# %% tags=["hide-input"]
share = behaviour["share of D4RL expert"]
display(Markdown(
    "Our experts reach " + ", ".join(f"{share[env]:.0%} of D4RL's expert return on "
                                     f"{env_slug(env)}" for env in behaviour.index)
    + ". Where that share is small, our *expert* data is closer to D4RL's *medium* than to its "
      "expert: the recipe, not the level of play, is what these datasets reproduce."))

# %% [markdown]
# (version-1)=
# ## Version 1: SAC behaviour agents near D4RL's experts
#
# D4RL's behaviour agents were SAC runs trained to convergence. Version 1 keeps the recipe
# above and replaces the behaviour runs: SAC (the project's own, batch 256, one CPU thread),
# trained for hours rather than minutes, outside the committed folder
# (`python -m seemrepro.datasets.behaviour Hopper-v5 --algorithm sac --root runs/behaviour`),
# then reduced to a recipe in `data/behaviour-v1/` (`python -m seemrepro.datasets.recipe
# Hopper-v5 --from runs/behaviour --version v1`). Two rules of the recipe differ:
#
# * **medium** is where training first came near one third of the expert (the closer of the two
#   snapshots around the first crossing), not the closest snapshot anywhere before it: a long
#   SAC run can score near the target by luck very early, long before it learns to;
# * **medium-replay** keeps at most 6 of the snapshots before medium, evenly spaced, each in
#   charge of the steps until the next one kept, so the committed recipe stays a few megabytes
#   however long training took to reach medium.

# %%
v1 = behaviours.xs("v1", level="version") if "v1" in behaviours.index.get_level_values(1) \
    else behaviours.iloc[:0]
plots.table(v1, formats={"share of D4RL expert": "{:.0%}"}, precision=1)

# %% tags=["hide-input"]
missing_v1 = [env_slug(e) for e in LOCOMOTION_ENVS if e not in V1_ENVS]
display(Markdown(
    ("Version 1 experts reach " + ", ".join(
        f"{v1.loc[env, 'share of D4RL expert']:.0%} of D4RL's expert return on {env_slug(env)} "
        f"(against {share[env]:.0%} in version 0)" for env in v1.index) + ". "
     if len(v1) else "No version 1 recipe is committed yet. ")
    + ("Not yet trained to a version 1 recipe: " + ", ".join(missing_v1)
       + "; their `-v1` datasets do not exist, and the chapters read `-v0`."
       if missing_v1 else "")))

# %% [markdown]
# ## Every dataset
#
# Returns and normalized scores are over the episodes that ended by termination or at the
# time limit (the episode cut where a dataset reaches its size is left out). A maze episode's
# return counts the goals reached within its time limit (300, 600 and 800 steps).

# %%
table = summary_table(list(data.values()))
table["return"] = [f"{m:.0f} ± {s:.0f}" for m, s in zip(table.return_mean, table.return_std)]
table["normalized"] = [f"{m:.1f} ± {s:.1f}" for m, s in
                       zip(table.normalized_score, table.normalized_std)]
# The recipe of each kind is the table at the top; the behaviour steps, the table above.
plots.table(table[["transitions", "episodes", "return", "normalized", "ref_min", "ref_max",
                   "size_mb"]],
            formats={"ref_min": "{:.1f}", "ref_max": "{:.1f}", "size_mb": "{:.1f}"})

# %%
shown = ("random", "medium-replay", "medium", "expert")
groups = {env_slug(e): [data[dataset_id(e, k)] for k in shown] for e in LOCOMOTION_ENVS}
groups["pointmaze"] = [data[maze_dataset_id(m)] for m in MAZES]
fig, axes = return_histograms(groups)

# %% [markdown]
# ## What an X% subset keeps
#
# `subset(buffer, fraction, seed)` keeps a random set of **transitions** (not episodes),
# chosen from (dataset id, fraction, seed) alone: every algorithm trained on "1% of
# hopper-medium, seed 0" sees the same transitions, on any machine. A small subset still
# touches many episodes and keeps the state statistics; what it loses is the coverage.

# %%
medium = data[dataset_id("Hopper-v5", "medium")]
mean_all, std_all = medium.state_stats()
episode_of = torch.repeat_interleave(
    torch.arange(len(medium.episode_starts)),
    torch.as_tensor(medium.metadata["episode_lengths"]))
rows = []
for fraction in (0.01, 0.1, 0.5):
    part = subset(medium, fraction, seed=0)
    idx = torch.as_tensor(part.metadata["subset_indices"])
    shift = ((part.state_stats()[0] - mean_all) / std_all).abs().max()
    rows.append({"fraction": fraction, "transitions": len(part),
                 "episodes touched": f"{episode_of[idx].unique().numel()} / "
                                     f"{len(medium.episode_starts)}",
                 "max |state-mean shift| (std)": float(shift),
                 "reward mean": float(part.rewards.mean())})
plots.table(pd.DataFrame(rows), precision=3)

# %% tags=["remove-input"]
# The sizes and step counts quoted in the next section, from the data and recipes themselves.
def transitions(env_ids: list[str], kind: str) -> list[int]:
    return [len(data[dataset_id(e, kind)]) for e in env_ids]


main_sizes = [n for k in ("random", "medium", "expert")
              for n in transitions(list(LOCOMOTION_ENVS), k)]
glue("ad_training_steps_min", int(behaviour["training steps"].min()), display=False)
glue("ad_training_steps_max", int(behaviour["training steps"].max()), display=False)
glue("ad_replay_min", min(transitions(list(LOCOMOTION_ENVS), "medium-replay")), display=False)
glue("ad_replay_max", max(transitions(list(LOCOMOTION_ENVS), "medium-replay")), display=False)
glue("ad_main_min", min(main_sizes), display=False)
glue("ad_main_max", max(main_sizes), display=False)
glue("ad_medium_expert", max(transitions(list(LOCOMOTION_ENVS), "medium-expert")),
     display=False)
for maze in MAZES:
    glue(f"ad_maze_{maze}", len(data[maze_dataset_id(maze)]), display=False)

# %% [markdown]
# ## What differs from D4RL
#
# * **Environments**: Gymnasium v5 MuJoCo environments, not D4RL's v2 (gym 0.x); returns are
#   not directly comparable, and normalized scores use our own reference scores.
# * **Behaviour policies**: TD3 trained for a short wall-clock budget on CPU
#   ({glue:text}`ad_training_steps_min:,.0f` to {glue:text}`ad_training_steps_max:,.0f` steps),
#   not SAC trained to convergence; the experts are weaker than D4RL's, and medium is one
#   third of *our* expert, so medium-replay is short
#   ({glue:text}`ad_replay_min:,.0f` to {glue:text}`ad_replay_max:,.0f` transitions, not
#   0.2M–0.4M).
#   Medium and expert data are sampled with Gaussian action noise (σ = 0.1) instead of SAC's
#   own stochasticity.
# * **Medium-replay** is reconstructed from actor snapshots taken every 5,000 steps, not the
#   literal replay buffer: within a 5,000-step window every action comes from the window's
#   first snapshot.
# * **Sizes**: {glue:text}`ad_main_min:,.0f` to {glue:text}`ad_main_max:,.0f` transitions for
#   random, medium and expert (D4RL: 1M); medium-replay is as long as training took to reach
#   medium; medium-expert is up to {glue:text}`ad_medium_expert:,.0f` (D4RL: 2M).
# * **Mazes**: PointMaze from Gymnasium-Robotics (v3) instead of D4RL's maze2d; goals are
#   resampled by the environment at its 0.45 success radius (D4RL: the controller's 0.1), so a
#   visit earns one reward step; episodes are the environment's length, not one long stream
#   cut by timeouts; {glue:text}`ad_maze_umaze:,.0f`, {glue:text}`ad_maze_medium:,.0f` and
#   {glue:text}`ad_maze_large:,.0f` transitions for umaze, medium and large (D4RL: 1M, 2M, 4M).
#   AntMaze itself is not generated.
# * **Reference scores**: 50 episodes of the uniform random policy and of the noise-free expert
#   snapshot, instead of D4RL's published constants.

# %%
# NBVAL_CHECK_OUTPUT
def mean_score(env_id: str, kind: str, version: str = "v0") -> float:
    b = data[dataset_id(env_id, kind, version)]
    return float(normalized_score(complete_episode_returns(b), b).mean())


for env_id, version in [(e, "v0") for e in LOCOMOTION_ENVS] + [(e, "v1") for e in V1_ENVS]:
    r, m, e = (mean_score(env_id, k, version) for k in ("random", "medium", "expert"))
    assert r < m < e, f"{env_id} {version}: D4RL ordering violated ({r:.1f}, {m:.1f}, {e:.1f})"
    me = data[dataset_id(env_id, "medium-expert", version)]
    me_scores = normalized_score(complete_episode_returns(me), me)
    assert me_scores.min() <= m and me_scores.max() >= e, f"{env_id}: medium-expert too narrow"
    assert m < float(me_scores.mean()) < e
    print(f"{env_slug(env_id)} ({version}): random < medium < expert; medium-expert spans both")

for maze in MAZES:
    b = data[maze_dataset_id(maze)]
    score = float(normalized_score(complete_episode_returns(b), b).mean())
    assert score > 25, f"{maze}: the noisy controller's data scores only {score:.1f}"
    assert b.state_dim == 6, "maze states should be (position, velocity, goal)"
    print(f"pointmaze {maze}: controller data far above random; states include the goal")

one = subset(medium, 0.01, seed=0)
again = subset(load(dataset_id("Hopper-v5", "medium"), root=root), 0.01, seed=0)
assert len(one) == round(0.01 * len(medium))
assert np.array_equal(one.metadata["subset_indices"], again.metadata["subset_indices"])
assert torch.equal(one.states, again.states) and torch.equal(one.rewards, again.rewards)
print(f"1% subset of {dataset_id('Hopper-v5', 'medium')}: {len(one)} of {len(medium)} "
      "transitions, identical on re-creation")
print("Datasets verdict: PASS")
