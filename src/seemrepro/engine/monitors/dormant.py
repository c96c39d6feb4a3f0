r"""Fraction of dormant units in the critic's hidden layers on the fixed X.

Sokar et al., "The Dormant Neuron Phenomenon in Deep Reinforcement Learning" (ICML 2023), score
unit i of hidden layer ℓ (width H_ℓ) on a set of inputs X by its mean absolute activation,
normalized by the layer's average over its units,

.. math::

    s_i^\ell = \frac{\mathbb{E}_{x\in X}\,|h_i^\ell(x)|}
                    {\frac{1}{H_\ell}\sum_{j=1}^{H_\ell}\mathbb{E}_{x\in X}\,|h_j^\ell(x)|},

and call the unit τ-dormant when :math:`s_i^\ell \le \tau`. The monitor records the fraction of
dormant units over all hidden layers together (Σ_ℓ #dormant_ℓ / Σ_ℓ H_ℓ), where h^ℓ is the
output of layer ℓ's ReLU on X's (s, a) pairs with the dataset's actions:

* ``dormant_ratio`` — τ = 0.025 (:data:`DORMANT_TAU`), the small positive threshold of
  Sokar et al.'s experiments, which also counts units that are nearly, not exactly, silent;
* ``dormant_ratio_zero`` — τ = 0: units whose activation is exactly zero on every row of X
  (dead ReLUs).

A layer whose units are all zero on X counts as wholly dormant (its scores are taken as 0).
Both ratios lie in [0, 1]. Sokar et al. find that the dormant fraction grows during training
and goes with lost expressivity; here it is a cheap representation signal beside SEEM.

Off by default: turn it on with ``MonitorConfig(extra={"dormant": k})``. Stateless.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor
from seemrepro.engine.monitors.features import hidden_activations_on_x

DORMANT_TAU = 0.025


def dormant_scores(activations: torch.Tensor) -> torch.Tensor:
    """s_i of each unit (column) of one layer's ``(N, width)`` activations; zeros when the whole
    layer is zero."""
    mean_abs = activations.detach().to(torch.float64).abs().mean(dim=0)
    layer_mean = mean_abs.mean()
    return mean_abs / layer_mean if layer_mean > 0 else torch.zeros_like(mean_abs)


def dormant_fraction(layers: Sequence[torch.Tensor], tau: float = DORMANT_TAU) -> float:
    """The fraction of τ-dormant units over all ``layers`` (each ``(N, width)``)."""
    if tau < 0:
        raise ValueError(f"tau must be non-negative, got {tau}")
    if not layers:
        raise ValueError("no hidden layers to score")
    dormant = sum(int((dormant_scores(h) <= tau).sum()) for h in layers)
    return dormant / sum(int(h.shape[1]) for h in layers)


@register_monitor
class DormantMonitor(Monitor):
    """``dormant_ratio`` (τ = 0.025) and ``dormant_ratio_zero`` (τ = 0) of the first critic's
    hidden units on X."""

    name = "dormant"
    order = 60

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        layers = hidden_activations_on_x(run, self.name)
        return {"dormant_ratio": dormant_fraction(layers, DORMANT_TAU),
                "dormant_ratio_zero": dormant_fraction(layers, 0.0)}
