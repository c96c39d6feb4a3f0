"""Baird's counterexample (Sutton & Barto, 2nd ed., example 11.1) for appendix F.5.

Seven states and eight weights: the six upper states have features ``2·e_i + e_8`` and the
lower state ``e_7 + 2·e_8``. The target policy always takes the solid action, which leads to
the lower state, and every reward is zero, so the true values are zero. Off-policy semi-gradient
TD(0) samples states uniformly (the behaviour policy's stationary distribution) and moves
``v(s)`` toward ``γ·v(s_7)``; with a linear value function the weights grow without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seemrepro.core.critics import make_critic, parameter_norm
from seemrepro.core.seem import check_gamma
from seemrepro.runtime import using_threads

NUM_STATES = 7
NUM_FEATURES = 8
LOWER_STATE = 6
INITIAL_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0)


def baird_features(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(7, 8) feature matrix, one row per state; the last row is the lower state."""
    phi = torch.zeros(NUM_STATES, NUM_FEATURES, dtype=dtype)
    for i in range(NUM_STATES - 1):
        phi[i, i] = 2.0
        phi[i, 7] = 1.0
    phi[LOWER_STATE, 6] = 1.0
    phi[LOWER_STATE, 7] = 2.0
    return phi


def baird_critic(*, layernorm: bool, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A linear value function with weights ``w0``, optionally with a LayerNorm in front.

    The plain version has no bias, as in the book. The LayerNorm version keeps the LayerNorm's
    affine parameters (initialised to identity) and the output bias (initialised to zero).
    """
    critic = make_critic(NUM_FEATURES, hidden=(), input_layernorm=layernorm, bias=layernorm,
                         dtype=dtype)
    linear = critic.net[-1]
    assert isinstance(linear, nn.Linear)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(INITIAL_WEIGHTS, dtype=dtype).reshape(1, -1))
        if linear.bias is not None:
            linear.bias.zero_()
    return critic


@dataclass
class BairdTrace:
    """Parameter norm and the values of all seven states, every ``record_every`` steps."""

    steps: list[int] = field(default_factory=list)
    param_norm: list[float] = field(default_factory=list)
    max_abs_value: list[float] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in ("steps", "param_norm", "max_abs_value")}


def semi_gradient_td(
    critic: nn.Module,
    *,
    gamma: float = 0.99,
    lr: float = 0.01,
    steps: int = 1000,
    seed: int = 0,
    record_every: int = 10,
) -> BairdTrace:
    """Off-policy semi-gradient TD(0) under the target policy with uniform state sampling.

    Each step samples one state ``s`` uniformly and takes an SGD step on
    ``½(v(s) − sg(γ·v(s_7)))²`` (reward zero). Sampling a state uniformly and weighting the
    behaviour policy's transitions by importance ratios gives this same update in expectation.
    """
    check_gamma(gamma)
    if steps < 0 or record_every <= 0:
        raise ValueError("steps must be non-negative and record_every positive")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    dtype = next(critic.parameters()).dtype
    phi = baird_features(dtype)
    states = torch.randint(0, NUM_STATES, (steps,), generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.SGD([p for p in critic.parameters() if p.requires_grad], lr=lr)
    trace = BairdTrace()
    with using_threads(1):
        _train(critic, phi, states, opt, gamma, steps, record_every, trace)
    return trace


def _train(critic: nn.Module, phi: torch.Tensor, states: torch.Tensor,
           opt: torch.optim.Optimizer, gamma: float, steps: int, record_every: int,
           trace: BairdTrace) -> None:
    for step in range(steps + 1):
        if step % record_every == 0 or step == steps:
            with torch.no_grad():
                values = critic(phi)
            trace.steps.append(step)
            trace.param_norm.append(parameter_norm(critic))
            trace.max_abs_value.append(float(values.abs().max()))
        if step == steps:
            break
        s = int(states[step])
        value = critic(phi[s: s + 1])
        with torch.no_grad():
            target = gamma * critic(phi[LOWER_STATE: LOWER_STATE + 1])
        opt.zero_grad(set_to_none=True)
        (0.5 * (value - target) ** 2).sum().backward()
        opt.step()
