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
# # T2 · Lemma 1 and Table 3: a diverged ReLU critic is L-homogeneous
#
# Lemma 1 of the paper: a ReLU MLP without normalization layers becomes $L$-homogeneous in its
# parameters once the weights dominate the biases. Scaling every parameter by $\lambda$ then
# scales the output by $\lambda^L$, the parameter gradient by $\lambda^{L-1}$ and the NTK by
# $\lambda^{2(L-1)}$, and it leaves the NTK's direction unchanged. A diverging critic reaches
# exactly this regime: its parameter norm grows without bound. The NTK $G$ is what the matrix
# $A_t$ of equation {eq}`seem-matrix` is made of ({doc}`T1 <t1_theorem1>`), so once the critic is
# homogeneous, $A_t$ keeps its direction and only its scale grows with the parameters: the
# theory of divergence speed (Theorems 3 and 4) builds on that.
#
# We produce a diverged 3-layer critic here rather than loading one. Q-value iteration with Adam
# on the paper's toy task (zero rewards, no target network, $\gamma = 0.99$) drives it to
# $|Q| > 10^6$. We then scale its parameters by $\lambda = 5$ and $10$, as in the paper's Table 3.

# %% tags=["parameters"]
profile = "book"
seed = 0

# %% tags=["hide-input"]
import pandas as pd
import torch

from seemrepro import plots
from seemrepro.core.checks import homogeneity_table
from seemrepro.core.toy import make_toy_dataset, q_value_iteration
from seemrepro.critics import make_critic, parameter_norm
from seemrepro.experiments import get_claim
from seemrepro.runtime import by_profile, set_threads

threads = set_threads()  # one torch thread on small machines (see README)

hidden = by_profile(profile, smoke=(64, 64), book=(256, 256), paper=(256, 256))
depth = len(hidden) + 1  # L counts weight layers: two hidden layers and the output layer
max_steps = by_profile(profile, smoke=6000, book=20000, paper=20000)
claim = get_claim("T2")  # the verdict's thresholds, beside the paper's figures

# %%
data = make_toy_dataset(100, seed=seed)
critic = make_critic(4, hidden, seed=seed)
initial_norm = parameter_norm(critic)
trace = q_value_iteration(critic, data, gamma=0.99, optimizer="adam", lr=1e-3, steps=max_steps,
                          threshold=claim.threshold("divergence_level"))
print(f"diverged at step {trace.diverged_at}: max |Q| = {trace.max_abs_q[-1]:.3g}, "
      f"parameter norm {initial_norm:.1f} -> {parameter_norm(critic):.1f}")

# %%
fig, axes = plots.figure(2, width=4.8, height=3.4)
arrays = trace.arrays()
axes[0].semilogy(arrays["steps"], arrays["max_abs_q"], color=plots.PALETTE["none"])
axes[0].set(xlabel="step", ylabel="max |Q| on the dataset", title="Q-value iteration diverges")
axes[1].plot(arrays["steps"], arrays["param_norm"], color=plots.PALETTE["none"])
axes[1].set(xlabel="step", ylabel=r"$\|\theta\|$", title="and its parameters grow");

# %% [markdown]
# Now the check of Lemma 1, in float64, over all 100 dataset inputs. The table puts the paper's
# Table 3 next to ours. Each ratio is a mean over inputs; the verdict uses the worst input.

# %%
diverged = critic.double()
ours = homogeneity_table(diverged, data.x.double(), depth)
paper = pd.DataFrame({"lambda": [5.0, 10.0], "output_ratio": [124.99, 999.78],
                      "grad_ratio": [25.001, 100.001], "ntk_ratio": [624.99, 9999.84],
                      "ntk_cosine": [1 - 1e-6, 1 - 1e-6]})
columns = ["lambda", "output_ratio", "output_target", "grad_ratio", "grad_target",
           "ntk_ratio", "ntk_target", "ntk_cosine"]
comparison = pd.concat({"paper (Table 3)": paper.set_index("lambda"),
                        "this run": ours[columns].set_index("lambda")}, axis=1)
plots.table(comparison.rename(index="{:g}".format), precision=4)

# %% [markdown]
# ## The check can fail: a freshly initialized critic is not homogeneous
#
# At initialization the biases are as large as the weights' contributions, so scaling by
# $\lambda$ does not act as a power law. The same table for the same architecture, untrained:

# %%
fresh = make_critic(4, hidden, seed=seed, dtype=torch.float64)
fresh_table = homogeneity_table(fresh, data.x.double(), depth)
fresh_shown = ["output_ratio", "output_worst_dev", "grad_ratio", "grad_worst_dev", "ntk_ratio",
               "ntk_dev", "ntk_cosine"]
plots.table(fresh_table.set_index("lambda").rename(index="{:g}".format)[fresh_shown],
            precision=4)

# %%
# NBVAL_CHECK_OUTPUT
assert trace.diverged_at is not None, "the critic did not diverge"
worst = ours[["output_worst_dev", "grad_worst_dev", "ntk_dev"]].to_numpy().max()
assert worst < claim.threshold("power_law_tolerance"), \
    f"diverged critic deviates {worst:.4f} from the powers of lambda"
assert (ours.ntk_cosine > 1 - claim.threshold("ntk_cosine_gap_max")).all(), \
    "NTK direction changed under scaling"
fresh_worst = fresh_table[["output_worst_dev", "grad_worst_dev", "ntk_dev"]].to_numpy().max()
assert fresh_worst > claim.threshold("fresh_deviation_min"), \
    "a fresh critic should not be homogeneous"
tolerance, gap = claim.threshold("power_law_tolerance"), claim.threshold("ntk_cosine_gap_max")
for factor in ours["lambda"]:
    print(f"lambda={factor:g}: output ~ lambda^{depth}, grad ~ lambda^{depth - 1}, "
          f"NTK ~ lambda^{2 * (depth - 1)} within {tolerance:.0%}; NTK cosine > 1-{gap:g}")
print(f"fresh critic: not homogeneous (deviation > {claim.threshold('fresh_deviation_min'):.0%})")
print("T2 verdict: PASS")
