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
# # A6 · Online SAC without a target EMA, and with LayerNorm (Fig. 11)
#
# Offline divergence is the paper's subject, but Section 5.3 asks whether its cure carries over
# to online RL. Value-based methods keep a *target network*, a slowly moving copy of the critic
# (an exponential moving average, EMA, with rate τ), because bootstrapping from the critic
# itself is unstable: this is the deadly triad, and the self-excitation of
# {doc}`t1_theorem1` is its NTK form. The paper trains SAC online on Hopper and Walker2d three
# ways: with the usual EMA, without it (τ = 1: the target *is* the current critic), and without
# it but with LayerNorm in the critic. It reports that SAC without EMA "behaved aimlessly,
# maintaining near-zero scores", and that with LayerNorm it performs as well as SAC with EMA.
#
# **Setting here.** SAC ({mod}`seemrepro.rl.agents.sac`) on Gymnasium's `Hopper-v5` and
# `Walker2d-v5`, one environment step per gradient step, uniform random actions first. The
# three settings differ only in τ and in the critic's normalization. The paper gives no SAC
# hyperparameters; ours are SAC's usual ones, printed below from the grid.
#
# **Scores, fixed before the runs.** Every run is evaluated ten times, evenly spaced, with the
# deterministic (mean) action. Its *final return* is the mean of its last three evaluations,
# the undiscounted return of an episode, as Fig. 11 plots it.
#
# **Verdict, fixed before the runs.** On each environment,
# 1. without EMA SAC fails: its mean final return is at most the fail fraction × SAC with EMA's;
# 2. with LayerNorm, SAC without EMA matches SAC with EMA: its mean final return is at least
#    (1 − the match fraction) × SAC with EMA's.
#
# Both are fractions of SAC with EMA's return, so both fail where that return is not positive.

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
import math

from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.experiments import get_claim, grid_runs
from seemrepro.experiments.grids.a6 import (
    EMA,
    ENVS,
    EVALUATIONS,
    FINAL_EVALUATIONS,
    NO_EMA,
    NO_EMA_LN,
    VARIANTS,
    variant_label,
)
from seemrepro.experiments.scores import RETURN, final_window_start, run_scores, split_variant
from seemrepro.plots.scores import q_curves, score_curves
from seemrepro.runtime import default_device, set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %% [markdown]
# The runs are declared once, in `seemrepro.experiments.grids.a6`; this page, the command
# `seemrepro reproduce A6 --profile book` and a SLURM cluster all run that grid.

# %%
claim = get_claim("A6")
grid = grid_runs("A6", profile)
display(Markdown(grid.provenance_markdown()))
first = grid.all()[0].config
agent = first.resolved().agent
seeds = sorted({r.config.seed for r in grid.all()})
monitors = first.monitors
at_paper = claim.runs("paper").variants[variant_label("hopper", EMA)][0]
display(Markdown(
    f"Computed at this profile ({profile}, on {default_device().type}). "
    f"Settings: SAC on {', '.join(f'`{d}`' for d in ENVS.values())}; networks "
    f"{'-'.join(map(str, agent['actor_hidden']))} (actor) and "
    f"{'-'.join(map(str, agent['critic']['hidden']))} (two critics); Adam "
    f"{agent['actor_lr']:g} (actor), {agent['critic_lr']:g} (critics); batch "
    f"{first.batch_size}; γ = {agent['gamma']:g}; τ = {agent['tau']:g} with EMA, 1 without; "
    f"entropy temperature learned from {agent['initial_temperature']:g}; "
    f"{first.start_steps:,} random steps, then {first.steps - first.start_steps:,} steps of "
    f"learning ({first.steps:,} in all; paper profile: {at_paper.steps:,}); "
    f"{len(seeds)} seed(s) per setting; {EVALUATIONS} evaluations of "
    f"{monitors.eval_episodes} episode(s), one every {monitors.eval_every:,} steps; max |Q| "
    f"every {monitors.q_every} steps.\n\n"
    + "\n".join(f"- **{t.name}** = {t.value:g}: {t.rule} (paper: {t.paper})"
                for t in claim.thresholds)))

# %% [markdown]
# ## Returns and Q per setting
#
# One row per environment and setting: the mean and standard deviation over seeds of the final
# return, and the largest max |Q| on the monitoring set (online
# data has no fixed reward bound, so no run is called inflated here). A run stopped at
# divergence has no final return; it is left out of the mean, and "scored" counts the runs
# the mean is over.

# %%
runs = split_variant(run_scores(grid.variants, bound=lambda _: math.inf,
                                last=FINAL_EVALUATIONS), ["env", "setting"])
grouped = runs.groupby(["env", "setting"], sort=False)
summary = grouped["return"].agg(["mean", "std"]).rename(columns={"mean": "mean final return"})
summary.insert(0, "runs", grouped.size())
summary.insert(1, "scored", grouped["return"].count())
summary["max |Q|"] = grouped["max |Q|"].max()
summary["diverged"] = grouped["diverged at"].agg(lambda s: float(s.notna().mean()))
plots.table(summary, precision=1, formats={"max |Q|": "{:.3g}", "diverged": "{:.0%}"})

# %%
colors = plots.named_colors(list(VARIANTS), {NO_EMA: plots.PALETTE["none"],
                                             NO_EMA_LN: plots.PALETTE["layernorm"],
                                             EMA: plots.PALETTE["reference"]})
fig, axes = plots.figure(2, 2, width=5.2, height=3.6)
for row, env in zip(axes.reshape(2, 2), ENVS, strict=True):
    labels = {name: variant_label(env, name) for name in VARIANTS}
    score_curves(row[0], {name: [r.series(RETURN) for r in grid.variants[label]]
                          for name, label in labels.items()},
                 colors=colors, ylabel="return", title=f"{env}: evaluation return",
                 final_from=final_window_start(first, FINAL_EVALUATIONS))
    q_curves(row[1], {name: [r.series("q_abs_max") for r in grid.variants[label]]
                      for name, label in labels.items()},
             colors=colors, title=f"{env}: max |Q| on X")
    row[0].set_xlabel("environment step = gradient step")
axes[0].legend(frameon=False, fontsize="small");

# %% [markdown]
# Left: each run's evaluation returns (thin) and their mean per setting (thick); the shaded
# steps make the final return. Right: max |Q| on the monitoring set, log scale.

# %% tags=["hide-input"]
fail_fraction = claim.threshold("fail_fraction")
match_fraction = claim.threshold("match_fraction")
mean = summary["mean final return"]
GLUE_KEYS = {EMA: "ema", NO_EMA: "no_ema", NO_EMA_LN: "no_ema_ln"}
parts: dict[str, bool] = {}
for env in ENVS:
    ema, no_ema, ln = mean[(env, EMA)], mean[(env, NO_EMA)], mean[(env, NO_EMA_LN)]
    learned = ema > 0  # a fraction of a return that is not positive compares nothing
    parts[f"{env}: {NO_EMA} fails (mean final return ≤ {fail_fraction:g} × {EMA}'s)"] = bool(
        learned and no_ema <= fail_fraction * ema)
    parts[f"{env}: {NO_EMA_LN} matches {EMA} (≥ {1 - match_fraction:g} × its mean final "
          f"return)"] = bool(learned and ln >= (1 - match_fraction) * ema)
    for name, key in GLUE_KEYS.items():
        glue(f"a6_{env}_{key}", f"{mean[(env, name)]:.0f}", display=False)
glue("a6_steps", f"{first.steps:,}", display=False)
display(Markdown("\n".join([
    "**What this build shows.**", "",
    *(f"* {env}: mean final return {mean[(env, EMA)]:.0f} with EMA, "
      f"{mean[(env, NO_EMA)]:.0f} without ({mean[(env, NO_EMA)] / mean[(env, EMA)]:.2f}×), "
      f"{mean[(env, NO_EMA_LN)]:.0f} without EMA but with LayerNorm "
      f"({mean[(env, NO_EMA_LN)] / mean[(env, EMA)]:.2f}×); largest max |Q| "
      f"{summary.loc[(env, EMA), 'max |Q|']:.3g}, {summary.loc[(env, NO_EMA), 'max |Q|']:.3g} "
      f"and {summary.loc[(env, NO_EMA_LN), 'max |Q|']:.3g}." for env in ENVS),
])))

# %% [markdown]
# **Against the paper.** Fig. 11 trains for about a million steps and shows SAC without EMA
# near zero on both environments, while LayerNorm without EMA tracks SAC with EMA. Here, after
# {glue:text}`a6_steps` steps, the mean final returns on Hopper are
# {glue:text}`a6_hopper_ema` with EMA, {glue:text}`a6_hopper_no_ema` without it and
# {glue:text}`a6_hopper_no_ema_ln` without it but with LayerNorm; on Walker2d
# {glue:text}`a6_walker2d_ema`, {glue:text}`a6_walker2d_no_ema` and
# {glue:text}`a6_walker2d_no_ema_ln`. The verdict below says which statements hold at this
# scale. These runs are short: SAC with EMA is still far from its asymptote, so the comparison
# is of early learning, where a failure without EMA shows first.

# %%
# NBVAL_CHECK_OUTPUT
assert len(summary) == len(ENVS) * len(VARIANTS) and (summary["runs"] == len(seeds)).all()
for statement, holds in parts.items():
    print(f"{statement}: {'PASS' if holds else 'FAIL'}")
print(f"A6 verdict: {sum(parts.values())} of {len(parts)} statements hold; "
      f"{int(runs['diverged at'].notna().sum())} of {len(runs)} runs diverged: "
      f"{'PASS' if all(parts.values()) else 'FAIL'}")
