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
# # T3 · Figure 5, Propositions 1 and 2: LayerNorm makes the NTK local
#
# SEEM turns positive when the kernel links dataset inputs to far-away inputs more strongly than
# to themselves. Proposition 1 of the paper: for a ReLU MLP without normalization,
# $k(x, \lambda x)$ grows linearly in $\lambda$, because far from the data the network is
# linear. Proposition 2: with LayerNorm between each Linear layer and its ReLU, $k(x, x + \lambda v)$
# stays bounded for every direction $v$.
#
# Figure 5 of the paper shows this for a 2-layer MLP with 2-D input and width 10,000. It draws
# the NTK between a reference point $x_0 = (0.1, 0.2)$ and every point of a square. Its caption
# calls the map "normalized" without saying how. The text says that without LayerNorm "the NTK
# around $x_0$ is minimal and normalized to a value close to zero", which fits a min-max
# normalization, $(k(x_0, x) - \min)/(\max - \min)$ over the square. Dividing by $k(x_0, x_0)$
# would put 1 at $x_0$, not a value close to zero. The heat maps below use min-max
# normalization. The paper's number, "≈ 4.5×" at $(4, 4)$, is a ratio of prediction changes: a
# small update of $f(x_0)$ moves $f(x)$ by $k(x_0, x)$ for every $k(x_0, x_0)$ it moves $f(x_0)$.
# So the chapter compares $k(x_0, (4,4))/k(x_0, x_0)$ from the raw kernel with 4.5, which no
# normalization of the map changes. That ratio depends on the random initialization, so it is
# measured over {glue:text}`t3_seeds` initialization seeds.

# %% tags=["parameters"]
profile = "book"
seed = 0

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
import torch
from myst_nb import glue

from seemrepro import plots
from seemrepro.core.checks import Grid2D, kernel_along_ray, loglog_slope, normalized_ntk_map
from seemrepro.core.ntk_toy import kernel_ratio, toy_critic
from seemrepro.critics import make_critic
from seemrepro.experiments import get_claim
from seemrepro.runtime import by_profile, set_threads

threads = set_threads()  # one torch thread on small machines (see README)

claim = get_claim("T3")  # the verdict's thresholds, beside the paper's figures
paper_ratio = 4.5  # Fig. 5 and Sec. 4: "~4.5x" at (4, 4)
width = 10_000
resolution = by_profile(profile, smoke=41, book=121, paper=201)
seeds = [seed + k for k in range(by_profile(profile, smoke=5, book=5, paper=20))]
x0 = torch.tensor([0.1, 0.2], dtype=torch.float64)
far_point = (4.0, 4.0)
grid = Grid2D.square(4.0, resolution)
spacing = grid.xs[1] - grid.xs[0]
factors = np.logspace(0, 4, 33)
far = factors >= claim.threshold("far_lambda_min")  # the asymptotic regime of both propositions
variants = {"without LayerNorm": {}, "with LayerNorm": {"norm": "layernorm"}}
glue("t3_seeds", len(seeds), display=False)

# %% [markdown]
# For every seed and both networks: the kernel ratio at $(4, 4)$, where the map $k(x_0, x)$
# peaks on the grid, and the log-log slope of $|k(x_0, \lambda x_0)|$ for large λ (the growth
# order that Propositions 1 and 2 predict).

# %%
rows, maps, rays = [], {}, {}
for s in seeds:
    for name, options in variants.items():
        critic = make_critic(2, (width,), seed=s, dtype=torch.float64, **options)
        kernel = grid.reshape(normalized_ntk_map(critic, x0, grid.points()))  # k(x0, x)/k(x0, x0)
        ray = kernel_along_ray(critic, x0, factors)
        peak = np.unravel_index(np.argmax(kernel), kernel.shape)
        rows.append({
            "seed": s, "network": name,
            "k(x0,(4,4)) / k(x0,x0)": kernel[grid.index_of(far_point)],
            "peak distance to x0 (cells)":
                np.hypot(grid.xs[peak[1]] - 0.1, grid.ys[peak[0]] - 0.2) / spacing,
            "slope for large λ": loglog_slope(factors[far], np.abs(ray[far])),
        })
        if s == seed:
            maps[name], rays[name] = kernel, ray
per_seed = pd.DataFrame(rows)
summary = per_seed.groupby("network", sort=False).agg(["mean", "std"])
summary.columns = [f"{column} ({stat})" for column, stat in summary.columns]
plots.table(summary.drop(columns=["seed (mean)", "seed (std)"]).reset_index(), precision=3)

# %% [markdown]
# The maps of the first seed, each min-max normalized over the square as in Fig. 5:

# %%
def min_max(values: np.ndarray) -> np.ndarray:
    return (values - values.min()) / (values.max() - values.min())


fig = plots.heatmaps({name: min_max(m) for name, m in maps.items()}, extent=(-4, 4, -4, 4),
                     marker=(0.1, 0.2), colorbar_label=r"$k(x_0, x)$, min-max normalized")
fig.suptitle("Normalized NTK around $x_0 = (0.1, 0.2)$ (star)");

# %% tags=["hide-input"]
plain = per_seed[per_seed.network == "without LayerNorm"]
with_ln = per_seed[per_seed.network == "with LayerNorm"]
ratios = plain["k(x0,(4,4)) / k(x0,x0)"]
ratio_mean, ratio_sd = float(ratios.mean()), float(ratios.std())
ratio_matches = abs(ratio_mean / paper_ratio - 1) <= claim.threshold(
    "paper_ratio_relative_tolerance")
glue("t3_ratio_mean", ratio_mean, display=False)
glue("t3_ratio_sd", ratio_sd, display=False)
glue("t3_ratio_min", float(ratios.min()), display=False)
glue("t3_ratio_max", float(ratios.max()), display=False)
glue("t3_ln_ratio_max", float(with_ln["k(x0,(4,4)) / k(x0,x0)"].max()), display=False)
glue("t3_paper_gap_percent", 100 * abs(ratio_mean / paper_ratio - 1), display=False)

# %% [markdown]
# Without LayerNorm the kernel grows towards the corners of the square. A small update of
# $f(x_0)$ moves the prediction at $(4, 4)$ by {glue:text}`t3_ratio_mean:.2f` ±
# {glue:text}`t3_ratio_sd:.2f` times as much as at $x_0$ itself (mean ± sd over seeds, range
# {glue:text}`t3_ratio_min:.2f`–{glue:text}`t3_ratio_max:.2f`). The paper reports about 4.5×,
# so our mean is {glue:text}`t3_paper_gap_percent:.0f`% away from it. The spread over seeds is
# small: at width 10,000 the kernel is close to its infinite-width limit. The gap therefore comes
# from the setup, not from the draw. Our networks use PyTorch's default initialization (uniform
# weights and biases scaled by $1/\sqrt{\text{fan-in}}$), as the official code's PyTorch critics
# do. The paper does not state the initialization of its Fig. 5 network, and the ratio depends on
# the scale of the first layer's biases relative to its weights; the section "The paper's own
# setting" below measures the conventions of the official code. With LayerNorm the kernel peaks at $x_0$ and decays with distance; its value at
# $(4, 4)$ stays below the value at $x_0$ (at most {glue:text}`t3_ln_ratio_max:.2f` of it).
#
# Along the ray $\lambda x_0$ the difference is a matter of growth order, which the two
# propositions predict (first seed shown; the slopes of every seed are in the table above):

# %%
fig, (ax,) = plots.figure(width=6.0, height=4.2)
colors = {"without LayerNorm": plots.PALETTE["none"], "with LayerNorm": plots.PALETTE["layernorm"]}
for name, k in rays.items():
    slope = loglog_slope(factors[far], np.abs(k[far]))
    ax.loglog(factors, np.abs(k), "-o", ms=3, color=colors[name],
              label=f"{name} (slope {slope:.2f} for λ ≥ {claim.threshold('far_lambda_min'):g})")
ax.set(xlabel=r"$\lambda$", ylabel=r"$|k(x_0, \lambda x_0)|$",
       title="NTK between $x_0$ and $\\lambda x_0$")
ax.legend(frameon=False);

# %% [markdown]
# ## The paper's own setting
#
# The official code (`yueyang130/SEEM`, every commit) has no script for Fig. 5: no NTK heat map,
# no grid around $x_0 = (0.1, 0.2)$. What it does fix are the conventions of its other networks.
# Its PyTorch ReLU critics (the TD3+BC critic and the MLP of the toy task of Appendix E) keep
# `nn.Linear`'s default initialization, and its NTK scripts take the inner product of the
# gradients with respect to all parameters, biases included, on the raw inputs (no constant
# appended). Its JAX critics (mish activations) keep flax's `nn.Dense` default: LeCun-normal
# weights (variance 1/fan-in) and zero biases. "Two-layer" counts Linear layers: the toy task's
# "two-layer MLP with a hidden size of 200" has one hidden layer in the code, and Appendix D
# writes the two-layer MLP as $f(x) = \sum_i a_i \sigma(w_i^\top x + b_i)$, without an output
# bias. The block below measures the ratio under each of these three settings, chosen from the
# code before any of them was run, on the same seeds; no other initialization was tried.

# %%
official_settings = {
    "PyTorch default, all parameters": {"initialization": "pytorch", "output_bias": True},
    "PyTorch default, Appendix D form (no output bias)":
        {"initialization": "pytorch", "output_bias": False},
    "flax default (LeCun-normal weights, zero biases)":
        {"initialization": "flax", "output_bias": True},
}
tolerance = claim.threshold("paper_ratio_relative_tolerance")
far_tensor = torch.tensor(far_point, dtype=torch.float64)
setting_rows = []
for name, setting in official_settings.items():
    values = np.array([
        kernel_ratio(toy_critic(width, seed=s, initialization=setting["initialization"]), x0,
                     far_tensor, output_bias=setting["output_bias"])
        for s in seeds
    ])
    setting_rows.append({
        "setting": name, "k(x0,(4,4)) / k(x0,x0) (mean)": values.mean(),
        "(std)": values.std(ddof=1), "gap to 4.5 (%)": 100 * abs(values.mean() / paper_ratio - 1),
        f"within ±{tolerance:.0%} of 4.5": abs(values.mean() / paper_ratio - 1) <= tolerance,
    })
settings = pd.DataFrame(setting_rows)
plots.table(settings, precision=2)

# %% tags=["hide-input"]
by_setting = settings.set_index("setting")
setting_means = by_setting["k(x0,(4,4)) / k(x0,x0) (mean)"]
glue("t3_flax_ratio_mean", float(setting_means.iloc[2]), display=False)
glue("t3_output_bias_shift", abs(float(setting_means.iloc[1] - setting_means.iloc[0])),
     display=False)
glue("t3_tolerance_percent", 100 * tolerance, display=False)
glue("t3_settings_within", int(by_setting[f"within ±{tolerance:.0%} of 4.5"].sum()), display=False)

# %% [markdown]
# {glue:text}`t3_settings_within` of the three settings lands within
# ±{glue:text}`t3_tolerance_percent:.0f`% of 4.5. Dropping the output bias, as Appendix D does,
# changes the mean ratio by only {glue:text}`t3_output_bias_shift:.3f`: that parameter adds 1 to
# every kernel entry, small next to the hidden layer's share at width 10,000. Zero biases make the
# hidden layer positively homogeneous, so the kernel grows with $\|x\|$ from the origin and the
# ratio jumps to {glue:text}`t3_flax_ratio_mean:.1f`, close to $\|(4,4)\|/\|x_0\| \approx 25$
# times an angular factor near 1. The paper's 4.5 lies between the PyTorch default (first-layer
# biases as large as the weights) and zero biases, so some bias-to-weight scale in between would
# presumably give it; choosing that scale after the fact would be tuning, not reproduction, and
# the chapter does not do it. The verdict therefore judges Fig. 5's number on the setting of the
# official PyTorch code, which the first block uses, and reports the other two beside it.

# %%
# NBVAL_CHECK_OUTPUT
assert (ratios > claim.threshold("corner_ratio_min")).all(), \
    "without LayerNorm the (4,4) ratio is not above 1 in every seed"
assert (with_ln["peak distance to x0 (cells)"] <= claim.threshold("peak_distance_cells_max")).all(), \
    "the LayerNorm map does not peak at x0 in every seed"
assert (with_ln["k(x0,(4,4)) / k(x0,x0)"] < claim.threshold("ln_corner_ratio_max")).all(), \
    "with LayerNorm (4,4) should be below the value at x0"
assert ((plain["slope for large λ"] - 1).abs() <= claim.threshold("linear_slope_tolerance")).all(), \
    "without LayerNorm k(x, λx) is not linear"
assert (with_ln["slope for large λ"].abs() <= claim.threshold("bounded_slope_max")).all(), \
    "with LayerNorm k(x, λx) is not bounded"
print(f"{len(seeds)} initialization seeds")
print(f"without LayerNorm: (4,4) ratio > 1 in every seed, mean {ratio_mean:.1f} "
      f"(paper about {paper_ratio}): "
      + ("matches" if ratio_matches else "the paper's value is NOT reproduced"))
print("without LayerNorm: k(x, lambda x) slope about 1 in every seed")
print("with LayerNorm: peak at x0, (4,4) below x0, k(x, lambda x) slope about 0 in every seed")
print("no Fig. 5 script in the official code; the ratio under its initializations:")
for name, row in by_setting.iterrows():
    mean = row["k(x0,(4,4)) / k(x0,x0) (mean)"]
    digits = 0 if mean > 10 else 1  # coarse enough not to flip between runs
    print(f"  {name}: mean {mean:.{digits}f}, about 4.5: "
          + ("PASS" if row[f"within ±{tolerance:.0%} of 4.5"] else "FAIL"))
print("T3 verdict: Props. 1-2 and Fig. 5's shape: PASS; Fig. 5's ratio of about 4.5 "
      "(official PyTorch initialization): " + ("PASS" if ratio_matches else "FAIL (not reproduced)"))
