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
# # A5 · What EMA, double Q and LayerNorm each contribute (Fig. 12)
#
# Popular offline algorithms already carry two devices against divergence: a target network
# updated as an exponential moving average (EMA) of the critic, and *double Q*, bootstrapping
# from the smaller of two critics. Appendix F.2 of the paper adds them one at a time, then
# LayerNorm, on 10% and 50% of the locomotion data: "DDPG without EMA" → "+ EMA" →
# "+ double Q" → "+ LN". Fig. 12 reports that each step raises the total score over nine
# tasks, and that LayerNorm, on top of the other two, raises it most.
#
# **Setting here.** The paper builds this ablation on TD3+BC's code and does not say whether
# the behaviour-cloning term stays. We keep it (TD3+BC's α), with target-policy smoothing and the
# delayed actor, and switch only what the ablation names: τ = 1 ("no EMA": the target is the
# current critic) or TD3+BC's τ, one critic or the smaller of two in the target, and LayerNorm
# on every hidden layer of the critics. So "+ double Q" is TD3+BC and "+ LN" is TD3+BC with
# LayerNorm ({doc}`a1_x_percent` uses the same two at 1% and 100%). The data, scores and
# divergence rules are those of {doc}`a1_x_percent`: our D4RL-style datasets, a run's final
# score the mean normalized score of its last three of ten evaluations, 0 for a run stopped at
# divergence, totals summed over the computed tasks.
#
# **Verdict, fixed before the runs.** At 10% and at 50%:
# 1. each step does not hurt: its total is at least the previous step's minus the step cost
#    per task × the number of tasks;
# 2. LayerNorm gives the largest gain: "+ LN" minus "+ double Q" exceeds each earlier step's
#    gain by more than the LN gain margin.

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
from itertools import pairwise

from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.experiments import get_claim, grid_runs
from seemrepro.experiments.events import q_bound
from seemrepro.experiments.grids.a1 import fraction_label, scored_runs
from seemrepro.experiments.grids.a5 import COLUMNS, FRACTIONS, STEPS, tasks, variant_label
from seemrepro.experiments.scores import TOTALS_FORMATS, task_aggregates
from seemrepro.plots.scores import paired_bars, q_curves
from seemrepro.runtime import default_device, set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %% [markdown]
# The runs are declared once, in `seemrepro.experiments.grids.a5`; this page,
# `seemrepro reproduce A5 --profile book` and a SLURM cluster all run that grid.

# %%
claim = get_claim("A5")
grid = grid_runs("A5", profile)
display(Markdown(grid.provenance_markdown()))
computed = tasks(profile)
first = grid.all()[0].config
seeds = sorted({r.config.seed for r in grid.all()})
monitors = first.monitors
paper_steps = claim.runs("paper").configs()[0].steps
display(Markdown(
    f"Computed at this profile ({profile}, on {default_device().type}): "
    f"{', '.join(f'`{t}`' for t in computed)} at X ∈ "
    f"{{{', '.join(fraction_label(x) for x in FRACTIONS)}}}, {len(seeds)} seed(s), "
    f"{first.steps:,} gradient steps (paper profile: the nine tasks of {{doc}}`a1_x_percent`, "
    f"{paper_steps:,} steps). Steps, each adding to the one before: "
    + "; ".join(f"**{name}** {options or '(TD3+BC as it is)'}"
                for name, options in STEPS.items())
    + f". {monitors.eval_every:,} steps between evaluations of {monitors.eval_episodes} "
    f"episode(s); max |Q| every {monitors.q_every} steps; divergence level "
    f"{monitors.divergence_threshold:.0e}.\n\n"
    + "\n".join(f"- **{t.name}** = {t.value:g}: {t.rule} (paper: {t.paper})"
                for t in claim.thresholds)))

# %% [markdown]
# ## Totals per X and step

# %%
runs = scored_runs(grid.variants, COLUMNS)
totals = task_aggregates(runs, ["X", "step"])
plots.table(totals, precision=1, formats=TOTALS_FORMATS)

# %%
step_names = list(STEPS)
colors = plots.named_colors(step_names, {step_names[0]: plots.PALETTE["none"],
                                         step_names[-1]: plots.PALETTE["layernorm"]})
fig, axes = plots.figure(1 + len(FRACTIONS), width=4.6, height=3.6)
paired_bars(axes[0], [fraction_label(x) for x in FRACTIONS],
            {s: [totals.loc[(fraction_label(x), s), "total"] for x in FRACTIONS]
             for s in step_names}, colors=colors,
            ylabel=f"total over {len(computed)} task(s)", title="total normalized score (Fig. 12)")
axes[0].legend(frameon=False, fontsize="small")
for ax, x in zip(axes[1:], FRACTIONS, strict=True):
    one_task = len(computed) == 1  # the bound line belongs to one task's rewards
    q_curves(ax, {s: [r.series("q_abs_max") for t in computed
                      for r in grid.variants[variant_label(t, x, s)]] for s in step_names},
             q_bound=q_bound(grid.variants[variant_label(computed[0], x, step_names[0])][0]
                             .config) if one_task else None,
             colors=colors, title=f"max |Q| on X · {fraction_label(x)}")

# %% [markdown]
# Left: the total over the computed tasks per step, as Fig. 12 reports it. Right: max |Q| on
# the monitoring set over training, every run, log scale; a line that ends early is a run
# stopped at the divergence level.
#
# Per run: final score, where it stopped, when its Q passed $\max|r|/(1-\gamma)$.

# %%
plots.table(runs.drop(columns=["return", "best score"]), precision=2,
            formats={"score": "{:.1f}", "max |Q|": "{:.3g}", "Q bound": "{:.0f}"})

# %% tags=["hide-input"]
step_cost = claim.threshold("step_cost_per_task") * len(computed)
ln_margin = claim.threshold("ln_gain_margin")
total = totals["total"]
parts: dict[str, bool] = {}
largest_gain: dict[str, tuple[str, float]] = {}
last_gain: dict[str, float] = {}
for x in FRACTIONS:
    label = fraction_label(x)
    values = [total[(label, s)] for s in step_names]
    gains = [b - a for a, b in pairwise(values)]
    largest_gain[label] = max(zip(step_names[1:], gains, strict=True), key=lambda sg: sg[1])
    last_gain[label] = gains[-1]
    parts[f"{label}: no step lowers the total by more than {step_cost:g}"] = all(
        g >= -step_cost for g in gains)
    parts[f"{label}: '{step_names[-1]}' gains most (by more than {ln_margin:g})"] = all(
        gains[-1] - g > ln_margin for g in gains[:-1])
    for s, v in zip(step_names, values, strict=True):
        key = s.replace("+ ", "").replace(" ", "_").lower()
        glue(f"a5_{label.rstrip('%')}_{key}", f"{v:.0f}", display=False)
glue("a5_tasks", str(len(computed)), display=False)
display(Markdown("\n".join([
    "**What this build shows.**", "",
    *(f"* {fraction_label(x)}: totals "
      + " → ".join(f"{total[(fraction_label(x), s)]:.1f}" for s in step_names)
      + f" ({', '.join(step_names)}); Q inflated in "
      + ", ".join(f"{totals.loc[(fraction_label(x), s), 'Q inflated']:.0%}"
                  for s in step_names) + " of the runs. Largest gain: "
      + "'{}' ({:+.1f}); '{}' gains {:+.1f}.".format(*largest_gain[fraction_label(x)],
                                                     step_names[-1], last_gain[fraction_label(x)])
      for x in FRACTIONS),
])))

# %% [markdown]
# **Against the paper.** Fig. 12 totals nine tasks and shows each step raising the score, LN
# most. Here, over {glue:text}`a5_tasks` task(s), the totals at 10% are
# {glue:text}`a5_10_no_ema` → {glue:text}`a5_10_ema` → {glue:text}`a5_10_double_q` →
# {glue:text}`a5_10_ln`, and at 50% {glue:text}`a5_50_no_ema` → {glue:text}`a5_50_ema` →
# {glue:text}`a5_50_double_q` → {glue:text}`a5_50_ln`. The verdict below says which
# statements hold at this scale; with one task and two seeds a step's gain is noisy, which is
# why "does not hurt" allows the step cost.
#
# **How to read a failed "LN gains most".** The second statement compares LN's gain with the
# gain of each earlier step, and the first step's gain is measured from "no EMA". Where the
# no-EMA runs stop at divergence they score 0 by the rule of {doc}`a1_x_percent`, so the step
# to "+ EMA" is worth a whole run's score, and LN can only win if it adds more than that on top
# of a critic that already stays bounded. The paper's text says only that EMA and double Q
# help and LN "further significantly" boosts the score; its figure is not in the text we
# compare with. The bullets above name the largest gain here and LN's own; the verdict stands
# as it was fixed before the runs.

# %%
# NBVAL_CHECK_OUTPUT
assert len(totals) == len(FRACTIONS) * len(STEPS)
assert (totals["runs"] == len(computed) * len(seeds)).all()
for statement, holds in parts.items():
    print(f"{statement}: {'PASS' if holds else 'FAIL'}")
print(f"A5 verdict: {sum(parts.values())} of {len(parts)} statements hold; "
      f"{int(runs['diverged at'].notna().sum())} of {len(runs)} runs stopped at divergence, "
      f"{int(runs['Q inflated at'].notna().sum())} had Q inflated: "
      f"{'PASS' if all(parts.values()) else 'FAIL'}")
