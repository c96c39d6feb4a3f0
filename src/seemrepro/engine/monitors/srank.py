r"""Effective rank (srank) of the critic's penultimate features on the fixed X.

Kumar et al., "Implicit Under-Parameterization Inhibits Data-Efficient Deep Reinforcement
Learning" (ICLR 2021), define the effective rank of a feature matrix Φ ∈ R^{M×d} — here the
first critic's last hidden layer (the output of its last ReLU, on which Q is linear) on the
run's fixed monitoring set X of M (s, a) pairs with the dataset's actions — from its singular
values σ_1 ≥ … ≥ σ_{min(M,d)} as

.. math::

    \mathrm{srank}_\delta(\Phi) = \min\Big\{k : \frac{\sum_{i=1}^{k}\sigma_i}
                                             {\sum_{i}\sigma_i} \ge 1 - \delta\Big\},
    \qquad \delta = 0.01,

the number of directions that carry 99 % of the singular-value mass. It lies between 1 and
min(M, d) (``d`` the last hidden width); the monitor reads 0 for an all-zero Φ (every unit
dead on X). Kumar et al. find that bootstrapped value learning drives srank down (implicit
under-parameterization) and that a collapsing srank goes with poor or unstable value
estimates; here it is a cheap representation signal beside SEEM. The SVD is taken in float64.

Off by default: turn it on with ``MonitorConfig(extra={"srank": k})``. Stateless.
"""

from __future__ import annotations

import torch

from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor
from seemrepro.engine.monitors.features import hidden_activations_on_x

SRANK_DELTA = 0.01


def effective_rank(features: torch.Tensor, delta: float = SRANK_DELTA) -> int:
    """srank_δ of ``features`` (rows are samples): the fewest leading singular values whose
    sum reaches ``1 − delta`` of the total; 0 for an all-zero matrix."""
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")
    singular = torch.linalg.svdvals(features.detach().to(torch.float64))
    total = singular.sum()
    if not total > 0:
        return 0
    share = torch.cumsum(singular, dim=0) / total
    # rounding may leave the full sum a hair under 1 − δ = 1 when δ = 0
    return min(int((share < 1.0 - delta).sum()) + 1, int(singular.numel()))


@register_monitor
class SRankMonitor(Monitor):
    """``srank``: the effective rank (δ = 0.01) of the first critic's last hidden features on
    X, and ``srank_width``, that layer's width (srank's upper bound when M ≥ width)."""

    name = "srank"
    order = 50

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        layers = hidden_activations_on_x(run, self.name)
        features = layers[-1]
        return {"srank": float(effective_rank(features)), "srank_width": float(features.shape[1])}
