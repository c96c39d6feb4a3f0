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
# # T5 · SEEM's sign predicts divergence, and SEEM grows with γ (Fig. 3)
#
# Theorem 3: after the critical point, Q-value iteration diverges if and only if SEEM, the
# largest real part among the eigenvalues of $A = \gamma G(X^*, X) - G(X, X)$, is positive; and
# since the first term is linear in γ, a larger discount makes SEEM larger. Fig. 3 (left) sweeps
# γ and stars the runs whose Q exceeded $10^6$.
#
# **What is predicted, from which data, how far ahead.** Divergence is predicted from the sign
# of SEEM measured at step 50 of each run, before Q has visibly moved (diverging runs blow up
# only after 230–410 steps); the prediction is then scored against whether Q exceeded $10^6$
# within the horizon.
#
# Setting: the toy task of T4 (bias-free 2-layer MLP of width 200, SGD lr 0.01, mean squared
# TD error), one seed, γ swept from 0.8 to 0.995.

# %% tags=["parameters"]
profile = "book"
seed = 0

# %%
import numpy as np
import pandas as pd

from seemrepro import plots
from seemrepro.experiments import get_claim
from seemrepro.plots.divergence import seem_and_q_panel
from seemrepro.core.predict import is_nondecreasing, seem_predicts
from seemrepro.runtime import by_profile
from seemrepro.core.toy import run_toy

gammas = by_profile(profile, smoke=[0.8, 0.9, 0.95, 0.99],
                    book=[0.8, 0.85, 0.88, 0.9, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99,
                          0.995],
                    paper=list(np.round(np.linspace(0.8, 0.995, 40), 4)))
horizon = by_profile(profile, smoke=600, book=3000, paper=10000)
measure_at = 50
claim = get_claim("T5")  # the verdict's thresholds, beside the paper's figures
settings = {"width": 200, "lr": 0.01, "seed": seed, "steps": horizon,
            "threshold": claim.threshold("divergence_level")}

# %%
runs = {g: run_toy(gamma=g, seem_every=measure_at, seem_until=measure_at, **settings)
        for g in gammas}
verdicts = {g: seem_predicts(t.seem_steps, t.seem, step=measure_at, diverged_at=t.diverged_at)
            for g, t in runs.items()}
table = pd.DataFrame([{"gamma": g, "SEEM at step 50": v.seem,
                       "normalized": runs[g].seem_normalized[1], "diverged at": runs[g].diverged_at,
                       "predicted": "diverge" if v.predicts_divergence else "converge",
                       "correct": v.correct} for g, v in verdicts.items()])
table

# %%
fig, (ax,) = plots.figure(width=6.5, height=4.2)
ax.plot(table.gamma, table["normalized"], "-", color=plots.PALETTE["neutral"], alpha=0.5)
for _, row in table.iterrows():
    diverged = not pd.isna(row["diverged at"])
    ax.plot(row.gamma, row["normalized"], "*" if diverged else "o", ms=14 if diverged else 7,
            color=plots.PALETTE["none"] if diverged else plots.PALETTE["layernorm"])
ax.axhline(0, color=plots.PALETTE["neutral"], lw=0.8)
ax.set_xlabel(r"discount $\gamma$")
ax.set_ylabel("normalized SEEM at step 50")
ax.set_title("SEEM against γ (★ = Q exceeded 1e6)");

# %% [markdown]
# SEEM over training next to Q, as in Fig. 3 (middle, right): a diverging run (γ 0.99), a
# converging one (γ 0.8) and, in the book profile, γ 0.93, whose SEEM is positive early but
# whose Q turns back after rising about 50-fold.

# %%
shown = by_profile(profile, smoke=[0.99, 0.8], book=[0.99, 0.8, 0.93], paper=[0.99, 0.8, 0.93])
detail_steps = by_profile(profile, smoke=300, book=1200, paper=3000)
detail = {g: run_toy(gamma=g, width=200, lr=0.01, seed=seed, steps=detail_steps,
                     seem_every=by_profile(profile, smoke=25, book=20, paper=10),
                     threshold=claim.threshold("divergence_level"))
          for g in shown}
fig, axes = plots.figure(len(shown), width=4.6, height=3.6)
for ax, (g, trace) in zip(axes, detail.items(), strict=True):
    seem_and_q_panel(ax, trace, f"γ = {g}" + (" (diverges)" if trace.diverged else ""))

# %% [markdown]
# **Against the paper.** Every run that diverged had a positive SEEM at step 50, and SEEM
# increases with γ. The converse fails near the boundary: in the book profile, at γ 0.92, 0.93
# and 0.94 SEEM is positive (10 of 13 runs agree) and Q grows for a few hundred steps, then the
# greedy actions change, SEEM drops to zero and the run converges. Step 50 is before the critical
# point that Theorem 3 assumes, so positive SEEM there is necessary but not sufficient.

# %%
# NBVAL_CHECK_OUTPUT
diverged = table["diverged at"].notna()
positive = table["SEEM at step 50"] > 0
agree = int((diverged == positive).sum())
assert diverged.any() and (~diverged).any(), "the sweep needs diverging and converging runs"
assert positive[diverged].all(), "a run diverged although its SEEM was not positive"
assert not diverged[~positive].any(), "a run with non-positive SEEM diverged"
assert is_nondecreasing(table["normalized"],
                        tolerance=claim.threshold("seem_monotone_tolerance")), \
    "SEEM is not increasing in gamma"
print(f"T5 verdict: SEEM sign agrees with divergence in {agree} of {len(table)} runs; "
      f"every diverging run had SEEM > 0, {int((positive & ~diverged).sum())} positive-SEEM runs "
      f"recovered; SEEM increases with gamma: PASS")
