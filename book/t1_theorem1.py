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
# # T1 · Theorem 1: one step of Q-value iteration is a linear map of the TD error
#
# Theorem 1 of the paper says that after one small gradient step of Q-value iteration the
# TD-error vector $u_t = f_{\theta_t}(X) - (r + \gamma f_{\theta_t}(X^*))$ moves as
#
# $$
# u_{t+1} = (I + \eta A_t)\,u_t + O(\eta^2),
# $$ (ntk-update)
#
# where $\eta$ is the learning rate and $A_t$ is built from the network's neural tangent kernel
# $G_\theta(x, x') = \nabla_\theta f_\theta(x)^\top \nabla_\theta f_\theta(x')$ between the
# dataset inputs $X$ and the inputs $X^*$ at which the target is evaluated:
#
# $$
# A_t = \gamma\,G_{\theta_t}(X^*, X) - G_{\theta_t}(X, X).
# $$ (seem-matrix)
#
# We take one plain SGD step on
# $\tfrac12\lVert f_\theta(X) - \mathrm{sg}(r + \gamma f_\theta(X^*))\rVert^2$ from a fixed network,
# with $X$ and $X^*$ held fixed, for a sweep of learning rates, and compare the actual change
# $u_{t+1} - u_t$ with the prediction $\eta A_t u_t$. If the theorem holds, the prediction error
# shrinks like $\eta^2$: a slope of 2 on log-log axes.

# %% tags=["parameters"]
profile = "book"
seed = 0

# %% tags=["hide-input"]
import numpy as np
import torch
from myst_nb import glue

from seemrepro import plots
from seemrepro.core.checks import loglog_slope, one_step_prediction, td_errors
from seemrepro.core.toy import greedy_next_inputs, make_toy_dataset
from seemrepro.critics import make_critic
from seemrepro.experiments import get_claim
from seemrepro.runtime import by_profile, set_threads
from seemrepro.seem import seem_matrix

threads = set_threads()  # one torch thread on small machines (see README)

hidden = by_profile(profile, smoke=(32, 32), book=(256, 256), paper=(256, 256))
num_rates = by_profile(profile, smoke=16, book=31, paper=61)
gamma = 0.99
claim = get_claim("T1")  # the verdict's thresholds, beside the paper's figures

# %% [markdown]
# The network is a ReLU MLP in float64 (so round-off does not hide the $\eta^2$ term) on the
# paper's toy task: 100 random $(s, a)$ pairs, zero reward, and $X^*$ the next states with the
# network's greedy action.

# %%
data = make_toy_dataset(100, seed=seed, dtype=torch.float64)
critic = make_critic(4, hidden, seed=seed, dtype=torch.float64)
x_next = greedy_next_inputs(critic, data)
a = seem_matrix(critic, data.x, x_next, gamma)
spectral_norm = float(torch.linalg.matrix_norm(a, ord=2))
scales = np.logspace(-7, -2, num_rates)  # η·‖A‖₂
table = one_step_prediction(critic, data.x, x_next, data.rewards, gamma, scales / spectral_norm)
table["eta_times_norm"] = scales
shown = ["eta_times_norm", "learning_rate", "actual_change", "prediction_error"]
plots.table(table[shown], formats={c: "{:.3e}" for c in shown})

# %% tags=["remove-input"]
glue("t1_fit_step_max", claim.threshold("fit_step_max"), display=False)
glue("t1_roundoff_margin", claim.threshold("roundoff_margin"), display=False)

# %% [markdown]
# Two effects bound the range where the $\eta^2$ law can be seen. At the smallest steps the
# error reaches float64 round-off of $u$. At the largest steps some ReLU units change their
# activation pattern during the step, and the expansion behind the theorem no longer applies.
# The fit therefore uses the steps with $\eta\lVert A\rVert_2$ at most
# {glue:text}`t1_fit_step_max:.1e` whose error is above
# {glue:text}`t1_roundoff_margin:.0f` times the round-off level $\epsilon\lVert u\rVert$
# (both limits are the claim's thresholds, fixed before the runs).

# %%
u_norm = float(td_errors(critic, data.x, x_next, data.rewards, gamma).norm())
roundoff = claim.threshold("roundoff_margin") * np.finfo(np.float64).eps * u_norm
window = ((table.eta_times_norm <= claim.threshold("fit_step_max"))
          & (table.prediction_error > roundoff))
slope = loglog_slope(table.learning_rate[window], table.prediction_error[window])
change_slope = loglog_slope(table.learning_rate[window], table.actual_change[window])

fig, (ax,) = plots.figure(width=6.5, height=4.4)
ax.loglog(table.learning_rate, table.prediction_error, "o", color=plots.PALETTE["neutral"],
          alpha=0.35, label="all steps")
plots.loglog_with_fit(ax, table.learning_rate[window], table.prediction_error[window],
                      slope=slope, label=r"$\|\Delta u - \eta A u\|$ (fit window)",
                      color=plots.PALETTE["prediction"], reference_slope=2.0)
ax.axhline(roundoff, color=plots.PALETTE["none"], ls="--", lw=1,
           label=f"{claim.threshold('roundoff_margin'):g}·round-off")
ax.set_xlabel(r"learning rate $\eta$")
ax.set_ylabel("prediction error")
ax.set_title("Theorem 1: the one-step error shrinks like $\\eta^2$")
ax.legend(frameon=False, fontsize=9);

# %% tags=["remove-input"]
glue("t1_window_size", int(window.sum()), display=False)
glue("t1_error_slope", slope, display=False)
glue("t1_change_slope", change_slope, display=False)

# %% [markdown]
# Over the {glue:text}`t1_window_size` learning rates of the fit window, the change of $u$
# itself grows with slope {glue:text}`t1_change_slope:.2f` on log-log axes (first order in
# $\eta$, slope 1 in theory), while the error of the linear prediction grows with slope
# {glue:text}`t1_error_slope:.2f` (second order, slope 2 in theory). To first order, then, a
# Q-value iteration step is exactly the linear map $I + \eta A_t$ of {eq}`ntk-update`, and the
# TD error grows when that map expands. The paper measures this with the *Self-Excite
# Eigenvalue Measure*, the largest eigenvalue of $A_t$; as $A_t$ is not symmetric, its
# eigenvalues $\lambda_i(A_t)$ are complex in general, and the one that decides growth is the
# one with the largest real part:
#
# $$
# \mathrm{SEEM}(A_t) = \max_i \operatorname{Re} \lambda_i(A_t), \qquad
# \text{normalized SEEM} = \frac{\mathrm{SEEM}(A_t)}{\lVert A_t \rVert_F} \in [-1, 1].
# $$ (seem-definition)
#
# A positive SEEM means that some direction of the TD error is amplified at every step:
# *self-excitation*. The raw value is in the kernel's units, which grow with the network's
# parameters; the normalized form divides by the Frobenius norm (which bounds every
# eigenvalue, the inequality $\lambda_{\max}(A) \le \lVert A \rVert_F$ the paper uses in its
# Section 4) and is scale free. `seemrepro.seem.seem` returns both.

# %%
# NBVAL_CHECK_OUTPUT
assert window.sum() >= claim.threshold("fit_points_min"), \
    "too few learning rates in the fit window"
assert abs(slope - 2) <= claim.threshold("error_slope_tolerance"), \
    f"prediction error slope {slope:.3f} is not 2"
assert abs(change_slope - 1) <= claim.threshold("change_slope_tolerance"), \
    f"change slope {change_slope:.3f} is not 1"
print(f"T1 verdict: prediction error ~ eta^{slope:.1f}, TD-error change ~ eta^{change_slope:.1f}"
      f" over {int(window.sum())} learning rates: PASS")
