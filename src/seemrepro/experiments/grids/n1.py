"""N1 (Fig. 6): TD3 without target EMA (τ = 1) on all of the walker2d and hopper
medium-expert datasets, with the critic regularizations the paper compares: none, LayerNorm,
BatchNorm, WeightNorm on the output layer, dropout, weight decay, and a behaviour-cloning term
(TD3+BC's α, weak and strong). Q on X every 50 steps; the normalized SEEM and the other
warning signals (parameter-norm growth, srank, dormant ratio, Q churn, TD error) every 200 steps on the
same M transitions. These runs are also the population of "Which signal warns first?" and
the data of T8.

The paper gives no dropout rate or weight-decay strength for Fig. 6; the values below are
common choices, fixed before any run: dropout 0.1 after every hidden ReLU, and an L2 penalty
of 1e-3 in the critic's Adam. "Weak" and "strong" behaviour cloning are TD3+BC's α = 10 and
α = 1 (TD3+BC's default, 2.5, lies between them; smaller α weighs the BC term more)."""

from __future__ import annotations

from typing import Any

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.experiments.spec import Grid
from seemrepro.runtime import by_profile

DATASETS = {"walker2d": "seemrepro/walker2d/medium-expert-v0",
            "hopper": "seemrepro/hopper/medium-expert-v0"}
SIGNALS = ("norm_growth", "srank", "dormant", "churn", "td_error")
DROPOUT = 0.1
WEIGHT_DECAY = 1e-3
BC_ALPHA = {"weak": 10.0, "strong": 1.0}
VARIANTS: dict[str, dict[str, Any]] = {
    "none": {"critic": {"norm": "none"}},
    "LN": {"critic": {"norm": "layernorm"}},
    "BN": {"critic": {"norm": "batchnorm"}},
    "WN": {"critic": {"weight_norm": "output"}},
    "dropout": {"critic": {"dropout": DROPOUT}},
    "weight decay": {"critic_weight_decay": WEIGHT_DECAY},
    "BC weak": {"bc_alpha": BC_ALPHA["weak"]},
    "BC strong": {"bc_alpha": BC_ALPHA["strong"]},
}


def variant_label(env: str, variant: str) -> str:
    return f"{env} · {variant}"


def grid(profile: str) -> Grid:
    steps = by_profile(profile, smoke=400, book=10_000, paper=1_000_000)
    seeds = by_profile(profile, smoke=[0], book=[0, 1, 2], paper=list(range(5)))
    q_every = by_profile(profile, smoke=50, book=50, paper=1000)
    every = by_profile(profile, smoke=100, book=200, paper=10_000)
    samples = by_profile(profile, smoke=256, book=1024, paper=2560)
    monitors = MonitorConfig(q_every=q_every, seem_every=every, seem_samples=samples,
                             extra={name: every for name in SIGNALS},
                             checkpoint_every=by_profile(profile, smoke=200, book=1000,
                                                         paper=10_000))
    return Grid.over_seeds(
        {variant_label(env, name): RunConfig("td3", dataset, steps=steps, monitors=monitors,
                                             agent={"tau": 1.0, **options})
         for env, dataset in DATASETS.items() for name, options in VARIANTS.items()}, seeds)
