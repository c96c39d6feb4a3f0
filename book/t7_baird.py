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
# # T7 · Baird's counterexample: LayerNorm in front of a linear function stops divergence
#
# Appendix F.5 (Fig. 14): a linear function approximator is the special case $G(X, X) = XX^\top$
# of the paper's analysis, and Baird's counterexample is the classic linear off-policy TD
# divergence. Seven states, eight weights (features $2e_i + e_8$ for the six upper states and
# $e_7 + 2e_8$ for the lower one), zero rewards, γ 0.99, $w_0 = (1,1,1,1,1,1,10,1)$; the target
# policy always goes to the lower state. Off-policy semi-gradient TD(0) samples states uniformly,
# step size 0.01 as in Sutton & Barto. The paper's claim: the weights of the linear function
# blow up, while the same linear function with a LayerNorm in front converges.
#
# **What is predicted.** Nothing ahead of time here: the chapter checks the two outcomes.

# %% tags=["parameters"]
profile = "book"
seed = 0

# %%
import pandas as pd

from seemrepro import plots
from seemrepro.core.baird import baird_critic, semi_gradient_td
from seemrepro.experiments import get_claim
from seemrepro.runtime import by_profile

steps = by_profile(profile, smoke=2000, book=10000, paper=50000)
record_every = steps // 100
claim = get_claim("T7")  # the verdict's thresholds, beside the paper's figures

# %%
traces = {name: semi_gradient_td(baird_critic(layernorm=ln), gamma=0.99, lr=0.01, steps=steps,
                                 seed=seed, record_every=record_every)
          for name, ln in (("linear", False), ("LayerNorm + linear", True))}
summary = pd.DataFrame([{"model": name, "initial norm": t.param_norm[0],
                         "norm at half": t.param_norm[len(t.param_norm) // 2],
                         "final norm": t.param_norm[-1], "final max |v|": t.max_abs_value[-1]}
                        for name, t in traces.items()])
summary

# %%
fig, axes = plots.figure(2, width=5.0, height=3.8)
colors = {"linear": plots.PALETTE["none"], "LayerNorm + linear": plots.PALETTE["layernorm"]}
for name, trace in traces.items():
    a = trace.arrays()
    axes[0].semilogy(a["steps"], a["param_norm"], color=colors[name], label=name)
    axes[1].semilogy(a["steps"], a["max_abs_value"], color=colors[name], label=name)
axes[0].set_ylabel(r"$\|w\|$ (all parameters)")
axes[1].set_ylabel(r"$\max_s |v(s)|$ (true value 0)")
for ax in axes:
    ax.set_xlabel("TD(0) step")
    ax.legend(frameon=False)

# %% [markdown]
# The linear function's weights grow geometrically, as in Sutton & Barto's figure 11.2. With a
# LayerNorm in front, the seven normalized feature vectors all have the same norm, the TD
# updates shrink the values toward zero and the parameters settle, matching Fig. 14.

# %%
# NBVAL_CHECK_OUTPUT
linear, normed = (traces[k] for k in ("linear", "LayerNorm + linear"))
half = len(linear.param_norm) // 2
assert linear.param_norm[-1] > claim.threshold("blowup_factor_min") * linear.param_norm[0], \
    "linear weights did not blow up"
assert linear.param_norm[-1] > claim.threshold("growth_factor_min") * linear.param_norm[half], \
    "linear weights stopped growing"
assert (abs(normed.param_norm[-1] / normed.param_norm[half] - 1)
        < claim.threshold("settle_tolerance")), "LayerNorm run moves"
assert normed.max_abs_value[-1] < claim.threshold("value_max"), \
    "LayerNorm run's values did not approach zero"
print(f"T7 verdict: linear weights' norm grew from {linear.param_norm[0]:.0f} to "
      f"1e{len(str(int(linear.param_norm[-1]))) - 1}; with LayerNorm it settles at "
      f"{normed.param_norm[-1]:.0f}: PASS")
