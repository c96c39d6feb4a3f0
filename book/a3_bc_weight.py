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
# # A3 · A policy constraint trades divergence for bias (Fig. 7)
#
# Section 5.1 of the paper argues against policy constraints as the cure for divergence. It
# trains Diff-QL on antmaze-large-play with the weight of its behaviour-cloning (denoising)
# loss set from 0.5 to 10. With a weak weight (0.5) and no LayerNorm, the score first rises,
# then the values diverge and the score drops to 0. With a strong weight (10) Q stays bounded,
# but the policy is held near the suboptimal data and the score stays at 0. With LayerNorm in
# the critic and the weak weight, Q converges and the score stays high. The explanation is the
# one of {doc}`n1_normalizations`: LayerNorm keeps SEEM ({eq}`seem-definition`) low, so the
# critic can be trusted without pinning the policy to the data.
#
# **Setting here.** Diff-QL ({mod}`seemrepro.rl.agents.diffql`) on our PointMaze-large data,
# the stand-in for antmaze-large-play on two CPU cores, rewards ×10 on success as the paper
# does on AntMaze. PointMaze is not AntMaze. A point mass (position and velocity) replaces a
# four-legged ant with eight actuated joints (the goal is in the observation of both). Our data comes from a waypoint planner whose
# goal is redrawn at every arrival (D4RL's maze2d recipe), not from AntMaze's "play" data. And
# the score is the return over an episode, normalized between a random policy (0) and the
# planner (100) (see {doc}`appendix_datasets`), not 100 × the success rate. The chapter never
# calls these numbers AntMaze numbers. The three settings are Fig. 7's: BC 0.5 and BC 10
# without LayerNorm, and BC 0.5 with LayerNorm on every hidden layer of both critics.
#
# **Scale.** The settings that differ from the paper's, and the fraction of the data, are
# printed below from the grid. The book trains on a random 5% of the maze's transitions
# because, with all of them, Q grew too slowly to show anything in the steps this machine
# allows. That fraction was chosen from one exploration run without LayerNorm before the
# thresholds were fixed; it is the paper's own lever (X% data, Section 5.2).
#
# **Scores, fixed before the runs.** Every run is evaluated twenty times, evenly spaced. Its
# *final score* is the mean of its last ten evaluations (the second half of training; Table
# 1's metric), its *best score* the best of all twenty. A run stopped because max |Q| passed
# the divergence level has no final score. Q has *inflated* at the first monitored step where
# max |Q| passes $\max|r|/(1-\gamma)$ of the shaped training rewards, the rule of
# {doc}`t10_seem_offline`.
#
# **Verdict, fixed before the runs.** Three statements, with the margins of the registry
# printed below:
# 1. without LN, the weak constraint peaks, then degrades: its final score falls further below
#    its best than LN's does with the same weight, by at least the drop margin, or Q inflates
#    in most of its runs;
# 2. without LN, the strong constraint stays low: its mean final score is below LN's with the
#    weak weight by at least the low margin;
# 3. with LN, the weak constraint is stable (no run inflates or diverges) and at least as good
#    as every no-LN setting, within the score margin.

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.experiments import get_claim, grid_runs
from seemrepro.experiments.events import q_bound
from seemrepro.experiments.grids.a3 import DATASET, LN_WEAK, STRONG, VARIANTS, WEAK
from seemrepro.experiments.grids.mazes import (
    EVALUATIONS,
    FINAL_EVALUATIONS,
    final_window_start,
)
from seemrepro.experiments.scores import (
    SCORE,
    SUMMARY_FORMATS,
    at_least,
    peak_drop,
    run_scores,
    variant_scores,
)
from seemrepro.plots.scores import metric_curves, q_curves, score_curves
from seemrepro.runtime import set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %% [markdown]
# The runs are declared once, in `seemrepro.experiments.grids.a3`; this page, the command
# `seemrepro reproduce A3 --profile book` and a SLURM cluster all run that grid.

# %%
claim = get_claim("A3")
grid = grid_runs("A3", profile)
display(Markdown(grid.provenance_markdown()))
first = grid.all()[0].config
agent = first.resolved().agent
seeds = sorted({r.config.seed for r in grid.all()})
bound = q_bound(first)
monitors = first.monitors
at_paper = claim.runs("paper").variants[WEAK]
paper_agent = at_paper[0].resolved().agent
display(Markdown(
    f"Settings: Diff-QL on `{DATASET}`, {first.subset:.0%} of its transitions; rewards "
    f"`{first.reward_transform}` (×10 on success); networks "
    f"{'-'.join(map(str, agent['actor_hidden']))} (noise model) and "
    f"{'-'.join(map(str, agent['critic']['hidden']))} (two critics; paper profile: "
    f"{'-'.join(map(str, paper_agent['critic']['hidden']))}); "
    f"{agent['denoise_steps']} denoising steps; η = {agent['eta']:g}; τ = {agent['tau']:g}; "
    f"γ = {agent['gamma']:g}; Q term on `{agent['q_action']}` actions; max-Q backup "
    f"{'on' if agent['max_q_backup'] else 'off'} (paper profile: "
    f"{'on' if paper_agent['max_q_backup'] else 'off'}); {first.steps:,} gradient steps "
    f"(paper profile: {at_paper[0].steps:,} on {at_paper[0].subset:.0%} of the data), "
    f"{len(seeds)} seed(s) per setting; {EVALUATIONS} "
    f"evaluations of {monitors.eval_episodes} episode(s), one every {monitors.eval_every:,} "
    f"steps; max |Q| every {monitors.q_every} steps, normalized SEEM every "
    f"{monitors.seem_every:,} steps on M = {monitors.seem_samples} transitions; Q bound "
    f"max|r|/(1−γ) = {bound:.0f}, divergence level {monitors.divergence_threshold:.0e}.\n\n"
    + "\n".join(f"- **{t.name}** = {t.value:g}: {t.rule} (paper: {t.paper})"
                for t in claim.thresholds)))

# %% [markdown]
# ## Scores and Q per setting
#
# One row per setting: runs with a final score, the mean and standard deviation of the final
# scores, the mean best score, how far the final score fell below the best (the mean over runs
# of best − final), and the fractions of runs stopped at divergence and with Q inflated.

# %%
runs = run_scores(grid.variants, last=FINAL_EVALUATIONS)
summary = variant_scores(runs)
summary["best − final"] = peak_drop(runs)
plots.table(summary, precision=2, formats={**SUMMARY_FORMATS, "best − final": "{:.1f}"})

# %% [markdown]
# Per run: the final and best scores (a dash: no final score), where it stopped, when its Q
# passed the bound, and its largest max |Q| and normalized SEEM.

# %%
plots.table(runs.drop(columns=["Q bound", "return"]), precision=2,
            formats={"score": "{:.1f}", "best score": "{:.1f}", "max |Q|": "{:.3g}"})

# %%
colors = plots.named_colors(list(VARIANTS), {WEAK: plots.PALETTE["none"]})
fig, axes = plots.figure(3, width=4.8, height=3.7)
score_curves(axes[0], {v: [r.series(SCORE) for r in rs] for v, rs in grid.variants.items()},
             colors=colors, final_from=final_window_start(first), title="evaluation score")
q_curves(axes[1], {v: [r.series("q_abs_max") for r in rs] for v, rs in grid.variants.items()},
         q_bound=bound, colors=colors, title="max |Q| on X")
metric_curves(axes[2], {v: [r.series("seem_normalized") for r in rs]
                        for v, rs in grid.variants.items()},
              ylabel="normalized SEEM", colors=colors, title="normalized SEEM")
axes[0].legend(frameon=False, fontsize="small");

# %% [markdown]
# Left: each run's evaluations (thin) and their mean per setting (thick); the shaded steps
# make the final score. Middle: max |Q| on the monitoring set, log scale; the dotted line is the
# bound no true value can pass. Right: the normalized SEEM, the largest real eigenvalue of
# {eq}`seem-matrix` divided by its Frobenius norm.

# %% tags=["hide-input"]
drop = summary["best − final"]
low_margin = claim.threshold("low_margin")
score_margin = claim.threshold("score_margin")
drop_margin = claim.threshold("drop_margin")
mean = summary["mean score"]
weak_inflated = summary.loc[WEAK, "Q inflated"] > 0.5
parts = {
    f"without LN, {WEAK} peaks then degrades (best − final exceeds LN's by ≥ {drop_margin:g}, "
    f"or Q inflated in most runs)":
        bool(weak_inflated or drop[WEAK] - drop[LN_WEAK] >= drop_margin),
    f"without LN, {STRONG} stays low (mean final ≥ {low_margin:g} below {LN_WEAK})":
        bool(mean[STRONG] <= mean[LN_WEAK] - low_margin),
    f"{LN_WEAK} is stable and at least every no-LN setting's mean final minus "
    f"{score_margin:g}":
        bool(summary.loc[LN_WEAK, "Q inflated"] == 0 and summary.loc[LN_WEAK, "diverged"] == 0
             and at_least(mean[LN_WEAK], [mean[WEAK], mean[STRONG]], score_margin)),
}
for name in VARIANTS:
    key = name.replace(" · ", "_").replace(" ", "_").replace(".", "")
    glue(f"a3_{key}_final", f"{mean[name]:.1f}", display=False)
    glue(f"a3_{key}_best", f"{summary.loc[name, 'mean best']:.1f}", display=False)
    glue(f"a3_{key}_inflated", f"{summary.loc[name, 'Q inflated']:.0%}", display=False)
    glue(f"a3_{key}_maxq", f"{summary.loc[name, 'max |Q|']:.0f}", display=False)
glue("a3_steps", f"{first.steps:,}", display=False)
glue("a3_subset", f"{first.subset:.0%}", display=False)
glue("a3_bound", f"{bound:.0f}", display=False)
inflated_runs = int(runs["Q inflated at"].notna().sum())
peak_q = summary["max |Q|"]
display(Markdown("\n".join([
    "**What this build shows.**", "",
    ("* No run's Q passed the bound and none diverged: at this scale the weak constraint does "
     "not diverge, so Fig. 7's collapse cannot be reproduced here, and the score statements "
     "compare settings that all keep Q bounded." if inflated_runs == 0 else
     f"* Q passed the bound in {inflated_runs} of {len(runs)} runs."),
    (f"* LayerNorm holds Q lower: the largest max |Q| with BC 0.5 is {peak_q[WEAK]:.0f} "
     f"without LayerNorm and {peak_q[LN_WEAK]:.0f} with it "
     f"({peak_q[WEAK] / peak_q[LN_WEAK]:.1f}×)."),
    *(f"* {name}: mean final score {mean[name]:.1f}, mean best {summary.loc[name, 'mean best']:.1f}"
      f" (best − final {drop[name]:.1f}); Q inflated in {summary.loc[name, 'Q inflated']:.0%} "
      f"of runs, largest max |Q| {peak_q[name]:.0f} "
      f"against the bound {bound:.0f}." for name in VARIANTS),
])))

# %% [markdown]
# **Against the paper.** In Fig. 7 the weak constraint without LayerNorm reaches a decent score
# and then collapses to 0 as Q diverges, the strong one stays at 0, and LayerNorm with the weak
# one is stable and high. Here, after {glue:text}`a3_steps` steps on {glue:text}`a3_subset` of
# the large maze, the mean final scores are {glue:text}`a3_BC_05_final` with BC 0.5 (best
# {glue:text}`a3_BC_05_best`), {glue:text}`a3_BC_10_final` with BC 10, and
# {glue:text}`a3_LN_BC_05_final` with LayerNorm and BC 0.5 (best {glue:text}`a3_LN_BC_05_best`).
# The largest max |Q| of any run is {glue:text}`a3_BC_05_maxq` with BC 0.5,
# {glue:text}`a3_BC_10_maxq` with BC 10 and {glue:text}`a3_LN_BC_05_maxq` with LayerNorm,
# against a bound of {glue:text}`a3_bound` that no true value can pass. The verdict below says
# which of the three statements hold at this scale.
#
# **What differs from the paper, and why it matters.** Our runs are far shorter than the
# paper's, on a maze a point mass crosses with a simple controller, with the goal in the
# observation and data from a planner that reaches every goal it is given. Behaviour cloning
# can therefore score on PointMaze, where on AntMaze "the learned policy cannot navigate out of
# the maze due to suboptimal data": the strong constraint is not held at 0 by the data here,
# and statement 2 tests a weaker form of the paper's effect than on AntMaze.

# %%
# NBVAL_CHECK_OUTPUT
assert len(summary) == len(VARIANTS) and (summary["runs"] == len(seeds)).all()
for statement, holds in parts.items():
    print(f"{statement}: {'PASS' if holds else 'FAIL'}")
print(f"A3 verdict: {sum(parts.values())} of {len(parts)} statements hold; "
      f"{int(runs['diverged at'].notna().sum())} of {len(runs)} runs diverged, "
      f"{int(runs['Q inflated at'].notna().sum())} had Q inflated: "
      f"{'PASS' if all(parts.values()) else 'FAIL'}")
