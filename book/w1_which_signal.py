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
# # W1 · Which signal warns first?
#
# The paper says that SEEM "can reliably decide whether the training will diverge at an early
# stage" (Sec. 3.2). This page puts that to a test the paper does not run: against the
# signals a practitioner already logs (Q itself, the TD error) and the cheap diagnostics of the
# plasticity literature (parameter-norm growth, the effective rank of the critic's last hidden
# features, the dormant-neuron ratio, Q churn on held-out states).
#
# **Population.** The runs of {doc}`n1_normalizations`: TD3 without target EMA on two
# medium-expert datasets, eight critic variants, several seeds. Some diverge within the first
# thousands of steps and some never do, and every run records all the signals at the same
# steps on the same X (`seemrepro.engine.monitors`; each signal's definition is in its
# monitor's docstring).
#
# **Label, scoring and verdict, fixed before the runs.**
# - A run is labelled *diverged* when its max |Q| on X passes $\max|r|/(1-\gamma)$ at any
#   monitored step (the rule of {doc}`t10_seem_offline`).
# - **AUC.** At each checkpoint (a share of the run's length) each run contributes every
#   signal's last value at or before it; a run stopped at divergence keeps its last value. The
#   AUC is the chance that a diverged run's value exceeds a bounded run's (ties count one half;
#   for the feature rank, smaller counts as more alarming). 0.5 is chance, 1 is perfect. The
#   95% intervals come from a bootstrap that resamples diverged and bounded runs separately.
# - **Lead time.** Only rules whose thresholds were fixed in advance get one: T10's *SEEM
#   surge* (the normalized SEEM rises above its step-0 value by a fixed amount for a fixed
#   number of monitored steps) and Theorem 3's *SEEM > 0* (the raw SEEM positive for the same
#   number of steps). The other signals would need a threshold tuned on these very runs, so
#   they are scored by AUC only.
# - **Verdict.** The normalized SEEM's AUC at the earliest checkpoint is at least Q
#   magnitude's. If it is not, this page says so and names the signal that wins.

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.core.warning import (
    SIGNAL_DIRECTIONS,
    SIGNAL_NAMES,
    RunRecord,
    checkpoint_aucs,
    lead_times,
    positive_seem_rule,
    rule_summary,
    surge_rule,
)
from seemrepro.experiments import get_claim, grid_runs
from seemrepro.experiments.claims import W1_CHECKPOINTS
from seemrepro.experiments.events import inflated_at
from seemrepro.plots.warning import auc_by_checkpoint, lead_strip
from seemrepro.runtime import set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %%
claim, t10 = get_claim("W1"), get_claim("T10")
margin = claim.threshold("auc_margin")
rules = [surge_rule(t10.threshold("surge_rise"), int(t10.threshold("surge_persistence"))),
         positive_seem_rule(int(t10.threshold("surge_persistence")))]
grid = grid_runs("N1", profile)
display(Markdown(grid.provenance_markdown()))
population = [RunRecord(f"{name} · seed {r.config.seed}", r.config.steps, inflated_at(r),
                        {m: r.series(m) for m in SIGNAL_DIRECTIONS})
              for name, results in grid.variants.items() for r in results]
signals = list(SIGNAL_DIRECTIONS)
diverged = sum(run.diverged for run in population)
first = grid.all()[0].config
display(Markdown(
    f"{len(population)} runs, {diverged} labelled diverged and {len(population) - diverged} "
    f"bounded; {first.steps:,} gradient steps each, so the checkpoints "
    f"{', '.join(f'{c:.0%}' for c in W1_CHECKPOINTS)} are steps "
    f"{', '.join(f'{c * first.steps:,.0f}' for c in W1_CHECKPOINTS)}. Signals recorded every "
    f"{first.monitors.seem_every} steps (Q every {first.monitors.q_every}) on M = "
    f"{first.monitors.seem_samples:,} transitions. Rules: "
    + "; ".join(f"*{rule.name}*: {rule.description}" for rule in rules) + "."))

# %% [markdown]
# ## Early discrimination
#
# The AUC of every signal at every checkpoint, over the whole population.

# %%
aucs = pd.DataFrame(checkpoint_aucs(population, signals, W1_CHECKPOINTS))
wide = (aucs.assign(signal=aucs["signal"].map(SIGNAL_NAMES),
                    checkpoint=aucs["checkpoint"].map("{:.0%}".format))
        .pivot(index="signal", columns="checkpoint", values="AUC")
        .reindex([SIGNAL_NAMES[s] for s in signals])
        [[f"{c:.0%}" for c in W1_CHECKPOINTS]].reset_index())
plots.table(wide, precision=2)

# %%
fig, axes = plots.figure(1, 1, width=7.5, height=4.6)
auc_by_checkpoint(axes[0], aucs, title="AUC for 'this run's Q will inflate'")

# %% [markdown]
# Thick lines: the normalized SEEM (blue) and Q magnitude (red); bands: 95% bootstrap
# intervals; dotted: chance. A run that has already diverged by a checkpoint counts there too,
# which favours Q magnitude: once Q has passed the bound, Q "predicts" its own label.
#
# The question a warning answers is narrower: among runs that have *not yet* inflated, which
# will? The same AUC, counting a diverged run only at the checkpoints before its inflation:

# %%
early = pd.DataFrame(checkpoint_aucs(population, signals, W1_CHECKPOINTS,
                                     before_event_only=True))
early_wide = (early.assign(signal=early["signal"].map(SIGNAL_NAMES),
                           checkpoint=early["checkpoint"].map("{:.0%}".format))
              .pivot(index="signal", columns="checkpoint", values="AUC")
              .reindex([SIGNAL_NAMES[s] for s in signals])
              [[f"{c:.0%}" for c in W1_CHECKPOINTS]].reset_index())
still = early.groupby("checkpoint")["diverged with a value"].max()
display(Markdown("Diverged runs not yet inflated at each checkpoint: " + ", ".join(
    f"{c:.0%}: {int(still.get(c, 0))}" for c in W1_CHECKPOINTS) + "."))
plots.table(early_wide, precision=2)

# %% [markdown]
# ## Lead time of the rules fixed in advance

# %%
rule_rows = {rule.name: lead_times(population, rule) for rule in rules}
per_rule = [rule_summary(name, rows) for name, rows in rule_rows.items()]
rule_table = pd.DataFrame(per_rule)
display(plots.table(rule_table, formats={"median lead": "{:.0f}"}))
display(Markdown(" ".join(
    f"*{r['rule']}* fired no later than the inflation in {r['fired first (lead ≥ 0)']} of "
    f"{r['diverged runs']} diverged runs and fired in {r['false alarms']} of "
    f"{r['bounded runs']} bounded runs (false alarms)"
    + (f"; its median lead is {r['median lead']:.0f} steps." if np.isfinite(r["median lead"])
       else ".")
    for r in per_rule)
    + "".join(f" *{r['rule']}* also fires in most bounded runs, so its lead says little about "
              "divergence." for r in per_rule if r["false alarms"] > r["bounded runs"] / 2)))

# %%
fig, axes = plots.figure(1, 1, width=7.5, height=2.4)
lead_strip(axes[0], {name: np.array([r["lead"] for r in rows if r["lead"] is not None],
                                     dtype=float) for name, rows in rule_rows.items()})

# %% [markdown]
# One point per diverged run whose rule fired; right of the dotted line the rule fired before
# Q passed the bound. The resolution is the monitoring interval of the signals.

# %% tags=["hide-input"]
earliest = aucs[aucs.checkpoint == W1_CHECKPOINTS[0]].set_index("signal")["AUC"]
seem_auc, q_auc = float(earliest["seem_normalized"]), float(earliest["q_abs_max"])
best = earliest.dropna().sort_values(ascending=False)
winners = [SIGNAL_NAMES[s] for s, v in best.items() if v == best.iloc[0]]
holds = bool(np.isfinite(seem_auc) and np.isfinite(q_auc) and seem_auc >= q_auc - margin)
glue("w1_seem_auc", seem_auc, display=False)
glue("w1_q_auc", q_auc, display=False)
glue("w1_checkpoint", f"{W1_CHECKPOINTS[0]:.0%}", display=False)
display(Markdown(
    f"At the earliest checkpoint ({W1_CHECKPOINTS[0]:.0%}) the highest AUC, "
    f"{best.iloc[0]:.2f}, belongs to {' and '.join(winners)}. "
    + ("The normalized SEEM is at least as good as Q magnitude there."
       if holds else "The normalized SEEM does **not** reach Q magnitude there.")))

# %% [markdown]
# **Against the paper.** The paper shows SEEM's surge in step with Q's inflation and its sign
# deciding divergence (see {doc}`t5_seem_gamma`, {doc}`t10_seem_offline`), but reports no
# comparison with other signals. At the {glue:text}`w1_checkpoint` checkpoint the normalized
# SEEM's AUC is {glue:text}`w1_seem_auc:.2f` and Q magnitude's {glue:text}`w1_q_auc:.2f`.
#
# **Scale and limits.** One algorithm (TD3 without target EMA) on two datasets. Whether a
# run diverges depends mostly on its critic's regularizer, so the population mixes "which
# regularizer" with "will it diverge", and a signal that reacts to a regularizer itself
# (BatchNorm or LayerNorm changing the features' rank, for instance) can look predictive for
# that reason. Without target EMA most diverging runs inflate early (see N1's table), so the
# early checkpoints are few monitoring intervals apart, and after the earliest one few
# diverged runs are left that have not yet inflated. The AUCs rest on a few dozen runs; their
# intervals are wide.

# %%
# NBVAL_CHECK_OUTPUT
assert len(population) == len(grid.all()) and set(aucs["signal"]) == set(signals)
statement = f"normalized SEEM's AUC at the {W1_CHECKPOINTS[0]:.0%} checkpoint is at least Q magnitude's"
print(f"{statement}: {'PASS' if holds else 'FAIL'}")
print(f"W1 verdict: {diverged} of {len(population)} runs diverged; best signal at the earliest "
      f"checkpoint: {', '.join(winners)}: {'PASS' if holds else 'FAIL'}")
