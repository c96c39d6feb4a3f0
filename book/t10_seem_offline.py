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
# # T10 · Normalized SEEM surges when Q inflates; stays near zero when Q converges (Fig. 3 right)
#
# Fig. 3 (right) and Figs. 19–20 of the paper follow SEEM, the largest real part among the
# eigenvalues of $A$ ({eq}`seem-matrix`, {eq}`seem-definition`), through offline training: when
# Q inflates, the normalized SEEM surges with it; when Q converges, it stays near zero. Here:
# offline TD3 without target EMA ($\tau = 1$: the target is the current critic) and without
# behaviour cloning, with and without LayerNorm in the critic, on two locomotion datasets and
# several seeds. Every run records, at the same steps, max |Q| and the normalized SEEM
# ($\lambda_{\max}/\lVert A\rVert_F$) on a fixed X of M distinct dataset transitions drawn
# before training, with $X^* = (s', \pi(s'))$.
#
# **Events, fixed before the smoke and book runs.** Q has *inflated* at the first monitored
# step where max |Q| on X exceeds $\max|r| / (1-\gamma)$, a bound no true value can pass. SEEM
# has *surged* at the first monitored step where the normalized SEEM exceeds its own value at
# step 0 (the fresh critic) by more than a fixed rise, and stays above that for a fixed number
# of monitored steps. A run whose Q never inflates must not surge, and its median normalized
# SEEM must stay below a near-zero level. The values are in the registry and printed below.

# %% tags=["parameters"]
profile = "book"

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from seemrepro import plots
from seemrepro.core.surge import rule_break, surge_events
from seemrepro.datasets import load_subset
from seemrepro.experiments import get_claim, grid_runs
from seemrepro.experiments.grids.t10 import CRITICS, DATASETS, SUBSET
from seemrepro.plots.surge import surge_panels
from seemrepro.runtime import set_threads

threads = set_threads()  # one torch thread on small machines (see README)

# %% [markdown]
# The runs are declared once, in `seemrepro.experiments.grids.t10`; this page, the command
# `seemrepro reproduce T10 --profile book` and a SLURM cluster all run that grid.

# %%
claim = get_claim("T10")
rise, persistence = claim.threshold("surge_rise"), claim.threshold("surge_persistence")
calm_median = claim.threshold("calm_median")
grid = grid_runs("T10", profile)
display(Markdown(grid.provenance_markdown()))
first = next(iter(grid.variants.values()))[0].config
gamma, samples = first.resolved().agent["gamma"], first.monitors.seem_samples
q_bound = {env: float(load_subset(dataset, SUBSET).rewards.abs().max()) / (1 - gamma)
           for env, dataset in DATASETS.items()}
transitions = {env: len(load_subset(dataset, SUBSET)) for env, dataset in DATASETS.items()}
display(Markdown(
    f"Settings: {SUBSET:.0%} of each dataset ({', '.join(f'{e}: {n:,} transitions' for e, n in transitions.items())}), "
    f"{first.steps:,} gradient steps, M = {samples:,}, monitored every "
    f"{first.monitors.seem_every} steps; surge: a rise of more than {rise} over step 0 for "
    f"{persistence} monitored steps; near zero: a median below {calm_median}; "
    f"Q bound max|r|/(1−γ): {', '.join(f'{e} {b:.0f}' for e, b in q_bound.items())}."))

# %%
rows, events = [], {}
for env in DATASETS:
    for critic in CRITICS:
        for r in grid.variants[f"{env} · {critic}"]:
            e = surge_events(*r.series("q_abs_max"), *r.series("seem_normalized"),
                             q_bound=q_bound[env], rise=rise, persistence=persistence)
            events[env, critic, r.config.seed] = e
            rows.append({"data": env, "critic": critic, "seed": r.config.seed,
                         "Q inflated at": e.inflated_at, "SEEM surged at": e.surged_at,
                         "lead (steps)": e.lead, "SEEM at step 0": e.seem_at_start,
                         "median SEEM": e.seem_median, "max SEEM": e.seem_max,
                         "Q > 1e6 at": r.diverged_at})
table = pd.DataFrame(rows)
plots.table(table, precision=2, formats={c: "{:.0f}" for c in
                                         ("Q inflated at", "SEEM surged at", "lead (steps)",
                                          "Q > 1e6 at")})

# %%
fig, axes = plots.figure(2, len(DATASETS), width=5.4, height=3.8)
for row, env in enumerate(DATASETS):
    surge_panels(axes[2 * row], axes[2 * row + 1],
                 {critic: [(*r.series("seem_normalized"), *r.series("q_abs_max"))
                           for r in grid.variants[f"{env} · {critic}"]] for critic in CRITICS},
                 q_bound=q_bound[env], title=f"{env}, {SUBSET:.0%} of medium")
axes[0].legend(frameon=False);

# %% [markdown]
# Red: critics without LayerNorm; blue: with LayerNorm; one line per seed. The dotted line on
# the right is the bound no true value can pass.

# %% tags=["hide-input"]
inflating = table[table["Q inflated at"].notna()]
bounded = table[table["Q inflated at"].isna()]
parts = {
    "both kinds of run are present (some inflate, some stay bounded)":
        len(inflating) > 0 and len(bounded) > 0,
    "every run whose Q inflates has a sustained SEEM surge":
        bool(inflating["SEEM surged at"].notna().all()),
    "every surge comes no later than its Q inflation":
        bool((inflating["lead (steps)"].dropna() >= 0).all()),
    "no run whose Q stays bounded surges": bool(bounded["SEEM surged at"].isna().all()),
    f"every bounded run's median normalized SEEM is below {calm_median}":
        bool((bounded["median SEEM"] < calm_median).all()),
}
ln_runs = table[table.critic == "LN"]
glue("t10_inflating", len(inflating), display=False)
glue("t10_runs", len(table), display=False)
glue("t10_inflating_no_ln", int((inflating.critic == "no LN").sum()), display=False)
glue("t10_no_ln", int((table.critic == "no LN").sum()), display=False)
glue("t10_ln_inflating", int((inflating.critic == "LN").sum()), display=False)
glue("t10_ln", len(ln_runs), display=False)
glue("t10_lead_min", float(inflating["lead (steps)"].min()) if len(inflating) else float("nan"),
     display=False)
glue("t10_lead_max", float(inflating["lead (steps)"].max()) if len(inflating) else float("nan"),
     display=False)
glue("t10_ln_max", float(ln_runs["max SEEM"].max()), display=False)
glue("t10_ln_median", float(ln_runs["median SEEM"].median()), display=False)
glue("t10_start_max", float(table["SEEM at step 0"].max()), display=False)
glue("t10_steps", first.steps, display=False)

# %% [markdown]
# **Runs that break a rule.** Every run whose Q inflated without a sustained surge, or whose
# surge came after its inflation, is described here from its own record (nothing is listed when
# every run follows the rules).

# %%
exceptions = []
for (env, critic, seed_), e in events.items():
    r = next(x for x in grid.variants[f"{env} · {critic}"] if x.config.seed == seed_)
    sentence = rule_break(e, *r.series("q_abs_max"), *r.series("seem_normalized"),
                          q_bound=q_bound[env], rise=rise, persistence=persistence)
    if sentence is not None:
        exceptions.append(f"- {env}, {critic}, seed {seed_}: {sentence}")
Markdown("\n".join(exceptions) if exceptions else "Every run follows the rules.")

# %% [markdown]
# **Against the paper.** Of the {glue:text}`t10_no_ln` runs without LayerNorm,
# {glue:text}`t10_inflating_no_ln` inflated within {glue:text}`t10_steps` steps; of the
# {glue:text}`t10_ln` runs with LayerNorm, {glue:text}`t10_ln_inflating` did. Where Q inflated,
# the surge came {glue:text}`t10_lead_min:.0f` to {glue:text}`t10_lead_max:.0f` steps before the
# inflation (0 means the same monitored step). A fresh critic's normalized SEEM is at most
# {glue:text}`t10_start_max:.2f` on these X, now that X holds distinct transitions, so a surge
# is a rise from near zero. LayerNorm runs keep a median of {glue:text}`t10_ln_median:.2f` (the
# median over runs of each run's median), with isolated spikes up to
# {glue:text}`t10_ln_max:.2f` that do not persist.
#
# **Where it falls short.** The rules were fixed before these runs and the verdict applies
# them as fixed: a run listed under "Runs that break a rule" counts against the claim, even
# where its record suggests a run that has not (yet) diverged for good rather than a surge that
# SEEM missed.
#
# **Scale.** The paper's runs are 1M steps on D4RL; ours are short runs on 2% of our own
# medium datasets (see the {doc}`appendix_datasets` appendix), so the whole surge happens in
# the first few hundred steps and the lead is measured in monitoring intervals. What carries
# over is the order of events and the contrast with LayerNorm, not the time scale.

# %%
# NBVAL_CHECK_OUTPUT
assert table["SEEM at step 0"].notna().all() and len(table) == len(rows)
for statement, holds in parts.items():
    print(f"{statement}: {'PASS' if holds else 'FAIL'}")
print(f"T10 verdict: {len(inflating)} of {len(table)} runs inflated "
      f"({int((inflating.critic == 'no LN').sum())} without LN), "
      f"{int(inflating['SEEM surged at'].notna().sum())} of them surged first; "
      f"{len(bounded)} stayed bounded ({int((bounded.critic == 'LN').sum())} with LN): "
      f"{'PASS' if all(parts.values()) else 'FAIL'}")
