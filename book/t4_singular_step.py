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
# # T4 · Theorem 3 under SGD: the inverse TD error falls linearly to a singular step
#
# Theorem 1 writes one SGD step of Q-value iteration as $u_{t+1} = (I + \eta A_t)u_t$
# ({eq}`ntk-update`), with $A_t$ from {eq}`seem-matrix`. Theorem 3 adds that once $A_t$'s
# direction has settled (the *critical point*) and SEEM ({eq}`seem-definition`) is positive, the
# TD error of an $L$-layer ReLU MLP blows up at a finite step,
# $\lVert u_t\rVert = O\big((1 - C'\lambda\eta t)^{-L/(2L-2)}\big)$: $1/\lVert u_t\rVert$
# ($L=2$, Fig. 2) or $1/\lVert u_t\rVert^{4/3}$ ($L=3$, Fig. 10) falls on a straight line whose
# zero is the singular step. The paper fits steps 450–500 and predicts step 605, where training
# produced NaN: a window ending 105 steps, 17% of the run, before the crash.
#
# **What is predicted, from which data, how far ahead.** A line is fitted to
# $\lVert u_t\rVert^{-(2L-2)/L}$ on a window that runs from the first step with
# $\lVert u_t\rVert \ge 2\lVert u_0\rVert$ to the first with $\lVert u_t\rVert \ge 4\lVert u_0\rVert$
# (the multiples are registry thresholds); the predictor sees only the trace up to the window's
# end. The **observed crash** is, as in the paper, the first step at which the network's
# values $Q(X)$ on the dataset are no longer finite (inf or NaN, float32 as in the paper's
# PyTorch runs); no other divergence level is used in this chapter. The **lead** is the crash
# step minus the window's last step. The verdict asks, per run, for a lead of at least 15% of
# the crash step *and* a predicted step within 2% of the observed one, and it checks the
# **null predictor** "the crash is now" (it predicts the window's last step) against the same
# 2%: at a lead of 15% the null predictor is 15% off, so passing means the line saw ahead.
#
# **Settings.** The toy task of appendix E: 100 random $(s,a)$ pairs with states in
# $[-1,1]^2$, zero rewards, greedy bootstrap target from the current network, SGD lr 0.01,
# γ 0.99, width 200, mean squared TD error, PyTorch's default initialization. The networks are
# bias-free, which makes them exactly $L$-homogeneous as Lemma 1 and Theorem 3 assume (the
# biased network is run below for comparison). The paper does not state the initialization;
# besides PyTorch's default the chapter runs a **balanced** initialization: the same initial
# network, with each hidden unit's incoming and outgoing weights rescaled to equal norms,
# which leaves the function unchanged (see below for why it matters).
#
# **How the settings were chosen.** Exploration runs on seeds 0–2 varied the state range
# ($[0,1]^2$, $[0,2]^2$, $[1,2]^2$, $[-2,2]^2$, $[-5,5]^2$), the overall initialization scale
# (0.3, 1, 3), biases and the relative scale of the two layers (summing instead of averaging
# the loss, a 100× larger step, blows up within a few steps by step-size instability instead). Scaling all
# weights of a homogeneous network only rescales time, and the state range moved the error in
# both directions from seed to seed; only balancing the layers moved the critical point
# earlier, and only for $L=2$. The window multiples were fixed on those exploration seeds
# (none of the multiples tried met both bounds on every exploration seed); the runs below use
# other seeds, from 100.

# %% tags=["parameters"]
profile = "book"
seed = 100

# %% tags=["hide-input"]
import math

import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from seemrepro import plots
from seemrepro.core.critics import make_critic
from seemrepro.core.predict import (
    SingularStepPrediction,
    forecast_singular_step_crashed,
    forecast_singular_step_relative,
    singular_step_tradeoff,
)
from seemrepro.core.toy import TDTrace, layer_imbalance, run_toy
from seemrepro.core.toy_maze import OFFICIAL_INIT_SEED, OFFICIAL_TRAJECTORY_SEED, run_maze
from seemrepro.experiments import get_claim
from seemrepro.plots.divergence import inverse_power_panel, lead_error_panel
from seemrepro.runtime import by_profile, set_threads

threads = set_threads()  # one torch thread on small machines (see README)

depths = (2, 3)
inits = ("balanced", "default")
seeds = by_profile(profile, smoke={2: [seed, seed + 1], 3: [seed]},
                   book={2: list(range(seed, seed + 5)), 3: list(range(seed, seed + 5))},
                   paper={2: list(range(seed, seed + 10)), 3: list(range(seed, seed + 10))})
claim = get_claim("T4")  # the verdict's thresholds, beside the paper's figures
multiples = (claim.threshold("window_low_multiple"), claim.threshold("window_high_multiple"))
lead_min = claim.threshold("lead_fraction_min")
error_max = claim.threshold("error_percent_max")
r_squared_min = claim.threshold("fit_r_squared_min")
# threshold=inf: a run stops only at its first non-finite Q, the paper's crash
settings = {"width": 200, "lr": 0.01, "gamma": 0.99, "steps": 5000, "threshold": math.inf}

# %%
traces = {(init, depth): {s: run_toy(depth=depth, seed=s, balanced=init == "balanced",
                                     **settings) for s in seeds[depth]}
          for init in inits for depth in depths}

# %% [markdown]
# For each run, `forecast_singular_step_relative` finds the window online from the TD-error
# norm, cuts the trace at the window's last step and gives only that truncated trace to the
# line fit; the observed crash is used only to score the prediction and the null predictor.

# %%
forecasts, rows = {}, []
for (init, depth), runs in traces.items():
    for s, trace in runs.items():
        row = {"init": init, "L": depth, "seed": s, "crash": trace.diverged_at}
        if trace.diverged_at is not None:
            a = trace.arrays()
            f = forecast_singular_step_relative(a["steps"], a["td_error_norm"], depth=depth,
                                                multiples=multiples, observed=trace.diverged_at)
            forecasts[init, depth, s] = f
            row.update(f.summary(lead_min=lead_min, error_max=error_max))
        rows.append(row)
table = pd.DataFrame(rows)
forecast_formats = {"predicted": "{:.1f}", "lead %": "{:.1f}", "error %": "{:.2f}",
                    "null error %": "{:.1f}", "fit R²": "{:.4f}"}
plots.table(table, formats=forecast_formats)

# %% tags=["hide-input"]
crashed = table.dropna(subset=["predicted"])
# how much larger PyTorch's default init makes the first layer than the output layer (L = 2)
glue("t4_init_imbalance", float(np.mean([
    layer_imbalance(make_critic(4, (settings["width"],), seed=s, bias=False))
    for s in seeds[2]])), display=False)
for init in inits:
    for depth in depths:
        part = crashed[(crashed["init"] == init) & (crashed["L"] == depth)]
        key = f"t4_{init}_l{depth}"
        glue(f"{key}_runs", len(part), display=False)
        glue(f"{key}_crash_min", int(part["crash"].min()), display=False)
        glue(f"{key}_crash_max", int(part["crash"].max()), display=False)
        glue(f"{key}_lead_min", float(part["lead %"].min()), display=False)
        glue(f"{key}_lead_max", float(part["lead %"].max()), display=False)
        glue(f"{key}_error_min", float(part["error %"].min()), display=False)
        glue(f"{key}_error_max", float(part["error %"].max()), display=False)
        glue(f"{key}_both", int(part["meets both"].sum()), display=False)

# %% [markdown]
# With the balanced initialization the $L=2$ runs crash at steps
# {glue:text}`t4_balanced_l2_crash_min:d`–{glue:text}`t4_balanced_l2_crash_max:d`; their windows
# end {glue:text}`t4_balanced_l2_lead_min:.0f`–{glue:text}`t4_balanced_l2_lead_max:.0f`% of the
# run before the crash and predict it with errors from
# {glue:text}`t4_balanced_l2_error_min:.1f`% to {glue:text}`t4_balanced_l2_error_max:.1f`%;
# {glue:text}`t4_balanced_l2_both:d` of {glue:text}`t4_balanced_l2_runs:d` meet both the lead
# and the accuracy bound. For $L=3$ the errors range from
# {glue:text}`t4_balanced_l3_error_min:.1f`% to {glue:text}`t4_balanced_l3_error_max:.1f`% at
# leads of {glue:text}`t4_balanced_l3_lead_min:.0f`–{glue:text}`t4_balanced_l3_lead_max:.0f`%
# ({glue:text}`t4_balanced_l3_both:d` of {glue:text}`t4_balanced_l3_runs:d` meet both). With
# PyTorch's default initialization the same rule gives errors of
# {glue:text}`t4_default_l2_error_min:.1f`% to {glue:text}`t4_default_l2_error_max:.1f`%
# ($L=2$) and {glue:text}`t4_default_l3_error_min:.1f`% to
# {glue:text}`t4_default_l3_error_max:.1f`% ($L=3$).

# %%
fig, axes = plots.figure(2, width=6.0, height=4.4)
for ax, depth in zip(axes, depths, strict=True):
    inverse_power_panel(ax, traces["balanced", depth],
                        {s: forecasts["balanced", depth, s].prediction
                         for s in seeds[depth] if ("balanced", depth, s) in forecasts},
                        depth=depth)

# %% [markdown]
# **How far ahead can the line see?** Before the critical point the kernel of the initial
# weights dominates and the TD error grows roughly exponentially; only once the diverging
# direction dominates the weights does the homogeneous $1/(1 - C't)$ law take over. The
# $1/\lVert u_t\rVert^p$ curve is therefore convex, and a line fitted early under-predicts the
# crash. PyTorch's default initialization gives the output layer a squared norm about
# {glue:text}`t4_init_imbalance:.0f` times smaller than the first layer's (mean over the $L=2$
# runs), an imbalance that gradient flow conserves, so the initial
# kernel dominates for most of the run; the balanced initialization removes it.
#
# The figure below places windows of 10% of the run so that they end a given fraction of the
# run before the crash, for every run. This uses the crash step to place the window, so it is
# a diagnostic of what any window could achieve, not a prediction.

# %%
lead_grid = np.linspace(0.02, 0.4, 39)
curves = {}
for (init, depth), runs in traces.items():
    curves[init, depth] = [
        singular_step_tradeoff(t.arrays()["steps"], t.arrays()["td_error_norm"], depth=depth,
                               observed=t.diverged_at, lead_fractions=lead_grid)
        for t in runs.values() if t.diverged_at is not None]
fig, axes = plots.figure(2, width=6.0, height=4.4)
for ax, depth in zip(axes, depths, strict=True):
    lead_error_panel(ax, {f"{init} init": curves[init, depth] for init in inits},
                     lead_min=lead_min, error_max=error_max, title=f"L = {depth}")
    ax.set_ylim(-25, 5)


def error_at_lead(init: str, depth: int) -> float:
    """The worst |error| over runs of a window ending at the lead bound (diagnostic)."""
    at = int(np.argmin(np.abs(lead_grid - lead_min)))
    return float(max(abs(errors[at]) for _, errors in curves[init, depth]))


for init in inits:
    for depth in depths:
        glue(f"t4_{init}_l{depth}_oracle_worst", error_at_lead(init, depth), display=False)

# %% [markdown]
# A window ending 15% of the run before the crash is off by up to
# {glue:text}`t4_balanced_l2_oracle_worst:.1f`% ($L=2$) and
# {glue:text}`t4_balanced_l3_oracle_worst:.1f`% ($L=3$) with the balanced initialization, and by
# up to {glue:text}`t4_default_l2_oracle_worst:.1f`% and
# {glue:text}`t4_default_l3_oracle_worst:.1f`% with PyTorch's default.

# %% [markdown]
# **The biased network.** The paper's own networks are PyTorch `Linear` layers with biases.
# On this toy task, with the same settings, they do not reach a non-finite value within the
# horizon:

# %%
biased = {s: run_toy(depth=2, seed=s, bias=True, **settings)
          for s in by_profile(profile, smoke=[seed], book=[seed, seed + 1],
                              paper=list(range(seed, seed + 5)))}
Markdown(f"{sum(t.diverged for t in biased.values())} of {len(biased)} biased runs crash within "
         f"{settings['steps']} steps; max |Q| at the last step: "
         + ", ".join(f"{t.max_abs_q[-1]:.3g}" for t in biased.values()) + ".")

# %% [markdown]
# **The setting of the paper's own toy script.** The official repository's toy script
# (`toy-maze/toy_maze.py`) differs from appendix E in almost every setting: the dataset is
# the 63 transitions of a single 64-step random walk that starts uniformly in $[0,1]^2$ and
# moves by $0.1\,a$ plus a noise uniform in $[0, 0.02)$ per coordinate, with $a$ one of the 8
# *unit* vectors at multiples of 45°; rewards are zero and the target is $\gamma \max_{a'}
# Q(s', a')$ over the same 8 unit vectors from the current network, γ 0.99; the network is a
# 2-layer ReLU MLP of width 64 *with* biases and PyTorch's default initialization, trained by
# full-batch SGD with learning rate 0.02 on the mean squared TD error. The trajectory is drawn
# with NumPy seed 1458 and kept fixed; only the initialization seed varies (the script notes
# that seed 111 "explodes" and 233 "converges"). The script plots $1/\bar Q$, the inverse
# of the *mean Q-value* on the dataset, from iteration 200, as Fig. 2's caption says
# ("inverse Q-value"); this block therefore fits $\bar Q^{-(2L-2)/L}$ rather than the TD-error
# norm, on a window from the first step with $\bar Q$ at or above one level to the first at or
# above a second (absolute levels, since $\bar Q$ starts near or below zero; registry
# thresholds `maze_l2_window_*` and `maze_l3_window_*`, chosen on exploration runs with the
# initialization seeds 0–4 and 111, on which no pair of levels met both bounds for every seed).
# $L=3$ adds a second hidden layer of width 64. The verdict runs use initialization seeds from
# 100; the crash is again the first step with a non-finite $Q(X)$.

# %%
# each run takes a second or two, so the smoke profile runs the verdict's five seeds too
maze_seeds = by_profile(profile, smoke={2: list(range(seed, seed + 5)), 3: list(range(seed, seed + 5))},
                        book={2: list(range(seed, seed + 5)), 3: list(range(seed, seed + 5))},
                        paper={2: list(range(seed, seed + 10)), 3: list(range(seed, seed + 10))})
maze_levels = {depth: (claim.threshold(f"maze_l{depth}_window_low_q"),
                       claim.threshold(f"maze_l{depth}_window_high_q")) for depth in depths}
maze_settings = {"steps": 3000, "threshold": math.inf, "trajectory_seed": OFFICIAL_TRAJECTORY_SEED}
maze_traces = {depth: {s: run_maze(depth=depth, seed=s, **maze_settings) for s in maze_seeds[depth]}
               for depth in depths}


maze_predictions: dict[int, dict[int, SingularStepPrediction]] = {depth: {} for depth in depths}


def maze_row(trace: TDTrace, depth: int, s: int) -> dict[str, object]:
    """One run of the script's setting, predicted online from its mean Q and scored."""
    row: dict[str, object] = {"L": depth, "seed": s, "crash": trace.diverged_at}
    if trace.diverged_at is not None:
        a = trace.arrays()
        f = forecast_singular_step_crashed(a["steps"], a["mean_q"], depth=depth,
                                           levels=maze_levels[depth], observed=trace.diverged_at)
        maze_predictions[depth][s] = f.prediction
        row.update(f.summary(lead_min=lead_min, error_max=error_max))
    return row


maze_table = pd.DataFrame([maze_row(t, depth, s) for depth, runs in maze_traces.items()
                           for s, t in runs.items()])
plots.table(maze_table, formats=forecast_formats)

# %% [markdown]
# As in the paper's Fig. 2: the inverse mean Q (for $L=3$ its $4/3$ power) of the verdict runs in
# the script's setting, with each run's fitted line, predicted crash (▼) and observed crash.

# %%
fig, axes = plots.figure(2, width=6.0, height=4.4)
for ax, depth in zip(axes, depths, strict=True):
    inverse_power_panel(ax, maze_traces[depth], maze_predictions[depth], depth=depth,
                        value="mean_q")

# %% [markdown]
# The script's own two seeds (exploration seeds, not part of the verdict), $L=2$:

# %%
script_table = pd.DataFrame([maze_row(run_maze(seed=s, **maze_settings), 2, s)
                             for s in (OFFICIAL_INIT_SEED, 233)])
plots.table(script_table, formats=forecast_formats)

# %% tags=["hide-input"]
maze_crashed = maze_table.dropna(subset=["predicted"])
for depth in depths:
    part = maze_crashed[maze_crashed["L"] == depth]
    key = f"t4_maze_l{depth}"
    glue(f"{key}_runs", int((maze_table["L"] == depth).sum()), display=False)
    glue(f"{key}_crashed", len(part), display=False)
    glue(f"{key}_lead_min", float(part["lead %"].min()), display=False)
    glue(f"{key}_lead_max", float(part["lead %"].max()), display=False)
    glue(f"{key}_error_min", float(part["error %"].min()), display=False)
    glue(f"{key}_error_max", float(part["error %"].max()), display=False)
    glue(f"{key}_both", int(part["meets both"].sum()), display=False)
official_row = script_table.iloc[0]
glue("t4_maze_official_crash", int(official_row["crash"]), display=False)
glue("t4_maze_official_lead", float(official_row["lead %"]), display=False)
glue("t4_maze_official_error", float(official_row["error %"]), display=False)
converging = script_table.iloc[1]["crash"]
Markdown("Seed 233, which the script reports as converging, "
         + ("does not crash within the horizon here." if pd.isna(converging)
            else f"crashes here at step {int(converging)}."))

# %% [markdown]
# With the script's seed 111 the values become non-finite at step
# {glue:text}`t4_maze_official_crash:d`, and the window rule predicts the crash
# {glue:text}`t4_maze_official_lead:.0f`% of the run ahead with an error of
# {glue:text}`t4_maze_official_error:.2f`%. Over the verdict seeds,
# {glue:text}`t4_maze_l2_crashed:d` of {glue:text}`t4_maze_l2_runs:d` $L=2$ runs crash; their
# windows end {glue:text}`t4_maze_l2_lead_min:.0f`–{glue:text}`t4_maze_l2_lead_max:.0f`% of
# the run before the crash with errors from {glue:text}`t4_maze_l2_error_min:.1f`% to
# {glue:text}`t4_maze_l2_error_max:.1f`%, and {glue:text}`t4_maze_l2_both:d` meet both bounds.
# At $L=3$ ({glue:text}`t4_maze_l3_crashed:d` of {glue:text}`t4_maze_l3_runs:d` crash) the
# leads are {glue:text}`t4_maze_l3_lead_min:.0f`–{glue:text}`t4_maze_l3_lead_max:.0f`% and the
# errors {glue:text}`t4_maze_l3_error_min:.1f`% to {glue:text}`t4_maze_l3_error_max:.1f`%
# ({glue:text}`t4_maze_l3_both:d` meet both).

# %% [markdown]
# **Against the paper.** See the verdict below: it states whether the paper's lead is
# reproduced, first for the appendix-E task and then for the official script's setting. What
# does reproduce for every appendix-E run is the shape of Figs. 2 and 10: after the critical
# point the inverse power of the TD error falls on a straight line (fit R² on the window at
# least the registry's bound) and reaches zero close to the step where the values become
# non-finite, and the null predictor fails the accuracy test at the rule's lead. For the
# script's setting the verdict counts the windows on which the line fits that well.

# %%
# NBVAL_CHECK_OUTPUT
assert table["crash"].notna().all(), "a run did not crash within the horizon"
assert (crashed["fit R²"] >= r_squared_min).all(), "the inverse power is not linear on a window"
assert (crashed["null error %"].abs() > error_max).all(), \
    "the null predictor passes the accuracy test: the check cannot tell a line from nothing"
verdicts = []
for init in inits:
    for depth in depths:
        part = crashed[(crashed["init"] == init) & (crashed["L"] == depth)]
        met = int(part["meets both"].sum())
        verdicts.append(f"{init} init, L={depth}: {met} of {len(part)} runs predict the crash "
                        f"within 2% from a window ending >= 15% of the run before it: "
                        + ("PASS" if met == len(part) else "FAIL"))
balanced_ok = all(v.endswith("PASS") for v in verdicts if v.startswith("balanced"))
print("T4 verdict: every run crashes with non-finite values; the inverse power is linear on "
      "every window (R² >= 0.99); the null predictor fails the 2% test in every run")
print("\n".join(verdicts))
maze_verdicts, maze_passed = [], []
for depth in depths:
    runs = maze_table[maze_table["L"] == depth]
    met = int(runs["meets both"].eq(True).sum())
    maze_verdicts.append(f"official toy setting, L={depth}: {met} of {len(runs)} runs predict the "
                         f"crash within 2% from a window ending >= 15% of the run before it: "
                         + ("PASS" if met == len(runs) else "FAIL"))
    if met == len(runs):
        maze_passed.append(f"L={depth}")
print("official toy setting (script's net, data and SGD; fit of 1/mean Q): "
      f"{len(maze_crashed)} of {len(maze_table)} runs crash with non-finite values; the inverse "
      f"power is linear (R² >= 0.99) on {int((maze_crashed['fit R²'] >= r_squared_min).sum())} "
      f"of {len(maze_crashed)} windows; the null predictor fails the 2% test in "
      f"{int((maze_crashed['null error %'].abs() > error_max).sum())} of {len(maze_crashed)}")
print("\n".join(maze_verdicts))
print("the paper's lead (a window ending >= 15% of the run before the crash, within 2%) is "
      + ("reproduced at both depths" if balanced_ok else "NOT reproduced")
      + " in the appendix-E toy task, and "
      + (f"reproduced at {' and '.join(maze_passed)}" if maze_passed else "NOT reproduced")
      + " in the official toy setting")

# %% tags=["hide-input"]
Markdown("The official toy setting was tried as well: "
         + (f"with it the paper's lead is reproduced at {' and '.join(maze_passed)}, so the "
            "script's setting, not appendix E's, is the one that reproduces Fig. 2."
            if maze_passed else
            "it does not reproduce the paper's lead either: the fixed online window predicts "
            "the crash within 2% from a lead of at least 15% in "
            f"{int(maze_table['meets both'].eq(True).sum())} of {len(maze_table)} runs.")
         + " The paper shows a single run; its seed 111 is reported above beside the verdict "
         "seeds.")
