"""The 2-D NTK toy of Fig. 5: one-hidden-layer ReLU critics under the initializations in question.

The paper does not state how its Fig. 5 network was initialized. Two conventions appear in its
official code: PyTorch's ``nn.Linear`` default (its PyTorch ReLU critics and its NTK scripts) and
flax's ``nn.Dense`` default (its JAX critics): LeCun-normal weights and zero biases. Appendix D's
network, ``f(x) = Σ a_i σ(w_i·x + b_i)``, has no output bias; ``output_bias=False`` drops that
parameter's share of the kernel.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from seemrepro.core.critics import MLPCritic, make_critic
from seemrepro.core.ntk import gram

Initialization = Literal["pytorch", "flax"]
INITIALIZATIONS: tuple[Initialization, ...] = ("pytorch", "flax")

# flax's variance_scaling draws from a normal truncated at ±2 standard deviations and divides by
# this factor (the truncated normal's own standard deviation) so that the variance stays 1/fan-in.
_TRUNCATED_NORMAL_STD = 0.87962566103423978


def lecun_normal_zero_bias_(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialize every Linear of ``module`` as flax's ``nn.Dense`` default does, in place."""
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, nn.Linear):
                continue
            std = math.sqrt(1.0 / layer.in_features) / _TRUNCATED_NORMAL_STD
            nn.init.trunc_normal_(layer.weight, std=std, a=-2 * std, b=2 * std,
                                  generator=generator)
            if layer.bias is not None:
                layer.bias.zero_()


def toy_critic(width: int, *, seed: int, initialization: Initialization = "pytorch",
               norm: str = "none") -> MLPCritic:
    """A float64 critic on 2-D inputs with one hidden layer of ``width`` units."""
    if initialization not in INITIALIZATIONS:
        raise ValueError(f"unknown initialization {initialization!r}; choose one of "
                         f"{', '.join(INITIALIZATIONS)}")
    critic = make_critic(2, (width,), seed=seed, dtype=torch.float64, norm=norm)
    if initialization == "flax":
        lecun_normal_zero_bias_(critic, torch.Generator().manual_seed(seed))
    return critic


def kernel_ratio(critic: nn.Module, x0: torch.Tensor, point: torch.Tensor, *,
                 output_bias: bool = True) -> float:
    """``k(x0, point) / k(x0, x0)``; without ``output_bias`` the output bias's share is left out.

    The output bias has gradient 1 at every input, so it adds exactly 1 to every kernel entry.
    """
    inputs = torch.stack([x0, point]).to(torch.float64)
    row = gram(critic, inputs[:1], inputs, dtype=torch.float64)[0]
    if not output_bias:
        row = row - 1.0
    return float(row[1] / row[0])
