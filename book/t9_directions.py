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
# # T9 · After t0 the NTK, the policy's actions and the parameters stop changing direction (Fig. 1, Figs. 16–18)
#
# The paper's analysis of divergence rests on an observation (Assumption 2, Fig. 1 and
# Figs. 16–18 of the appendix): after some step $t_0$ the critic's NTK keeps a fixed direction,
# the policy's actions stop changing, and so does the direction of the parameters, while their
# norm keeps growing. From then on the TD update is the linear map of Theorem 1
# ({eq}`ntk-update`) with a fixed matrix $A$ ({eq}`seem-matrix`), and SEEM
# ({eq}`seem-definition`) decides whether Q diverges. The paper measures it with the cosine
# similarity of each quantity to its value at the last checkpoint,
# $\cos(v_t, v_T) = \langle v_t, v_T\rangle / (\lVert v_t\rVert\,\lVert v_T\rVert)$.
#
# **Runs.** TD3 without target EMA ($\tau = 1$) and without normalization on all of our
# walker2d medium-expert dataset, several seeds. The runs go on past Q = $10^6$ (the divergence
# threshold is raised), so that the directions can be followed while Q diverges. A snapshot
# of the actor's and critic's parameters is kept at fixed intervals; at the end of the run each
# snapshot's cosine similarity to the last one is computed for the critic's parameters, the
# actor's parameters, the policy's actions $\pi(s)$ on the states of a fixed set X of dataset
# transitions, and the critic's NTK Gram matrix on the first 256 pairs of X. The Q monitor
# records max |Q| on X and the critic's parameter norm $\lVert\theta\rVert$ more often.
#
# **Rules, fixed before the T9 runs.** $t_0$ is a fixed fraction of the run's length (its
# last monitored step). Each run's max |Q| must pass $\max|r|/(1-\gamma)$, the bound no true
# value can pass (as in {doc}`t10_seem_offline`), before $t_0$. At every snapshot from $t_0$
# on, each of the four cosines must be at least a fixed level, and $\lVert\theta\rVert$ must
# be larger at the end than at $t_0$. The fraction and the level are in the registry and
# printed below.

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.core.directions import direction_record, settled_from
from seemrepro.datasets import load_subset
from seemrepro.experiments import get_claim, grid_runs
from seemrepro.experiments.events import q_bound as run_q_bound
from seemrepro.plots.directions import COSINE_TITLES, DirectionTrace, direction_panels
from seemrepro.runtime import set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %% [markdown]
# The runs are declared once, in `seemrepro.experiments.grids.t9`; this page, the command
# `seemrepro reproduce T9 --profile book` and a SLURM cluster all run that grid.

# %%
claim = get_claim("T9")
fraction, cosine_level = claim.threshold("t0_fraction"), claim.threshold("cosine_level")
grid = grid_runs("T9", profile)
display(Markdown(grid.provenance_markdown()))
runs = [r for rs in grid.variants.values() for r in rs]
first = runs[0].config
training = load_subset(first.dataset, first.subset, first.subset_seed)
q_bound = run_q_bound(first)
display(Markdown(
    f"Settings: {first.dataset}, {len(training):,} transitions, {first.steps:,} gradient "
    f"steps, seeds {[r.config.seed for r in runs]}, X = {first.monitors.seem_samples:,} "
    f"transitions; snapshots every {first.monitors.snapshot_every} steps, max |Q| and "
    f"‖θ‖ every {first.monitors.q_every}; t0 at {fraction:.0%} of each run, cosine level "
    f"{cosine_level}; Q bound max|r|/(1−γ) = {q_bound:.0f}."))

# %%
records, rows, cosine_rows = {}, [], []
for r in runs:
    cosines = {name: r.series(name) for name in COSINE_TITLES}
    record = direction_record(*r.series("q_abs_max"), *r.series("param_norm"), cosines,
                              fraction=fraction, q_bound=q_bound)
    records[r.config.seed] = record
    rows.append({
        "seed": r.config.seed, "last step": record.run_length, "t0": record.t0,
        "reference snapshot": r.series("similarity_reference_step")[1][-1],
        "snapshots from t0": record.snapshots_from_t0,
        "Q inflated at": record.inflated_at, "stopped at": r.diverged_at,
        "‖θ‖ at t0": record.norm_at_t0, "‖θ‖ at end": record.norm_at_end,
        "max|Q| at end": r.series("q_abs_max")[1][-1]})
    cosine_rows.extend({"seed": r.config.seed, "cosine": title,
                        "min from t0": record.min_cosine[name],
                        "at least the level from": settled_from(*cosines[name], cosine_level)}
                       for name, title in COSINE_TITLES.items())
table = pd.DataFrame(rows)
cosine_table = pd.DataFrame(cosine_rows)
plots.table(table, precision=1, formats={
    **{c: "{:.0f}" for c in ("last step", "t0", "reference snapshot", "snapshots from t0",
                             "Q inflated at", "stopped at")},
    "max|Q| at end": "{:.3g}"})

# %%
plots.table(cosine_table.set_index(["seed", "cosine"]), precision=3,
            formats={"at least the level from": "{:.0f}"})

# %% [markdown]
# "Min from t0" is each cosine's smallest value over the snapshots from $t_0$ on (the rule);
# "at least the level from" is the first snapshot from which it stays at or above the level to
# the end of the run (a dash: it ends below). The reference snapshot is the last one; a run
# stops early ("stopped at") only where a Q statistic becomes non-finite or passes the raised
# divergence threshold, and its last snapshot before that is then the reference.

# %%
fig, axes = plots.figure(3, 2, width=4.6, height=3.5)
direction_panels(list(axes), [DirectionTrace(f"seed {r.config.seed}",
                                             {name: r.series(name) for name in COSINE_TITLES},
                                             r.series("param_norm"), r.series("q_abs_max"),
                                             records[r.config.seed].t0) for r in runs],
                 cosine_level=cosine_level, q_bound=q_bound)

# %% [markdown]
# Top: cosine similarity of each snapshot to the last one; bottom: the critic's parameter
# norm and max |Q| on X (log scale). One colour per seed; the dashed vertical line is $t_0$,
# the dotted lines the cosine level and the Q bound.

# %% tags=["hide-input"]
parts = {
    f"every run's max |Q| passes max|r|/(1−γ) before t0 ({fraction:.0%} of the run)":
        all(rec.inflated_before_t0 for rec in records.values()),
    **{f"{title}: cosine to the last snapshot at least {cosine_level} at every snapshot from "
       f"t0 on, in every run": all(rec.settled(name, cosine_level) for rec in records.values())
       for name, title in COSINE_TITLES.items()},
    "the critic's ‖θ‖ is larger at the end than at t0 in every run":
        all(rec.norm_grew for rec in records.values()),
}
glue("t9_runs", len(runs), display=False)
glue("t9_steps", first.steps, display=False)
glue("t9_t0", float(table["t0"].min()), display=False)
glue("t9_inflated_before", sum(rec.inflated_before_t0 for rec in records.values()),
     display=False)
glue("t9_inflated_max", float(table["Q inflated at"].max()), display=False)
for name, title in COSINE_TITLES.items():
    glue(f"t9_min_{name}", float(cosine_table[cosine_table.cosine == title]["min from t0"].min()),
         display=False)
glue("t9_settled_max", float(cosine_table["at least the level from"].max()), display=False)
glue("t9_norm_growth_min", float((table["‖θ‖ at end"] / table["‖θ‖ at t0"]).min()),
     display=False)
glue("t9_q_end_min", float(table["max|Q| at end"].min()), display=False)

# %% [markdown]
# **Against the paper.** Figs. 1 and 16–18 show the NTK and action similarities to the last
# checkpoint reaching about 1 after $t_0$ in every run, and the parameter similarity rising
# while the norm grows; the paper gives no numbers. In our {glue:text}`t9_runs` runs of
# {glue:text}`t9_steps` steps, $t_0$ is step {glue:text}`t9_t0:.0f`; Q passed the bound before
# it in {glue:text}`t9_inflated_before` runs (the latest inflation: step
# {glue:text}`t9_inflated_max:.0f`). From $t_0$ on the smallest cosine over
# all runs is {glue:text}`t9_min_cos_critic_params:.3f` for the critic's parameters,
# {glue:text}`t9_min_cos_actor_params:.3f` for the actor's, {glue:text}`t9_min_cos_actions:.3f`
# for the actions and {glue:text}`t9_min_cos_ntk:.3f` for the NTK; the latest step from which
# any cosine stays at or above the level is {glue:text}`t9_settled_max:.0f`. Between $t_0$ and
# the end, ‖θ‖ grew by a factor of at least {glue:text}`t9_norm_growth_min:.2f`, and max |Q|
# ended at {glue:text}`t9_q_end_min:.3g` or more.

# %% tags=["hide-input"]
failing = [(r.config.seed, title, records[r.config.seed].min_cosine[name])
           for r in runs for name, title in COSINE_TITLES.items()
           if not records[r.config.seed].settled(name, cosine_level)]
late = [seed for seed, rec in records.items() if not rec.inflated_before_t0]
shrunk = [seed for seed, rec in records.items() if not rec.norm_grew]
sentences = ([f"Seed {s}: the {title} cosine falls to {v:.3f} after t0." for s, title, v in
              failing]
             + [f"Seed {s}: max |Q| did not pass the bound before t0." for s in late]
             + [f"Seed {s}: ‖θ‖ is not larger at the end than at t0." for s in shrunk])
Markdown("**Runs that break a rule.** " + (" ".join(sentences) if sentences else
                                           "None: every run follows every rule."))

# %% [markdown]
# **Scale.** The paper's curves span 1M steps on D4RL with snapshots far apart; ours are
# {glue:text}`t9_steps`-step runs on our own walker2d medium-expert data (see
# {doc}`appendix_datasets`). The cosine to the last snapshot is 1 at the last
# snapshot by construction, so the statement carries weight only for the snapshots between
# $t_0$ and the end; with $t_0$ at a fixed fraction of the run, a shorter run tests a shorter
# stretch of the divergence.

# %%
# NBVAL_CHECK_OUTPUT
assert len(table) == len(runs) > 0
assert all(rec.snapshots_from_t0 >= 2 for rec in records.values())
for statement, holds in parts.items():
    print(f"{statement}: {'PASS' if holds else 'FAIL'}")
print(f"T9 verdict: {len(runs)} runs, {sum(rec.inflated_before_t0 for rec in records.values())}"
      f" inflated before t0, "
      f"{sum(all(rec.settled(n, cosine_level) for n in COSINE_TITLES) for rec in records.values())}"
      f" with all four cosines at least {cosine_level} from t0 on, "
      f"{sum(rec.norm_grew for rec in records.values())} with ‖θ‖ growing after t0: "
      f"{'PASS' if all(parts.values()) else 'FAIL'}")
