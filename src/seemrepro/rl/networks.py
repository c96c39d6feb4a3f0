"""Actor networks and the entropy temperature shared by the agents."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn


def mlp(input_dim: int, hidden: Sequence[int], output_dim: int, *,
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of widths ``hidden``, each followed by ``activation()``, then a Linear
    output layer."""
    layers: list[nn.Module] = []
    width = input_dim
    for h in hidden:
        layers += [nn.Linear(width, h), activation()]
        width = h
    layers.append(nn.Linear(width, output_dim))
    return nn.Sequential(*layers)


class DeterministicActor(nn.Module):
    """``π(s) = max_action · tanh(MLP((s − mean) / std))``.

    The state normalization lives in buffers, so a saved actor acts on raw environment states.
    """

    def __init__(self, state_dim: int, action_dim: int, hidden: tuple[int, ...] = (256, 256),
                 max_action: float = 1.0) -> None:
        super().__init__()
        self.net = mlp(state_dim, hidden, action_dim)
        self.max_action = max_action
        self.state_mean: torch.Tensor
        self.state_std: torch.Tensor
        self.register_buffer("state_mean", torch.zeros(state_dim))
        self.register_buffer("state_std", torch.ones(state_dim))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.state_mean.copy_(mean)
        self.state_std.copy_(std)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.max_action * torch.tanh(self.net((state - self.state_mean) / self.state_std))


class TanhGaussianActor(nn.Module):
    """A tanh-squashed Gaussian policy (SAC, CQL) on normalized states.

    ``forward(s)`` gives the deterministic action ``max_action·tanh(mean)``; ``forward(s, noise)``
    gives a reparameterized sample from standard-normal ``noise`` and its log-density. The noise
    comes from outside so that each seed draws it from its own generator.
    """

    def __init__(self, state_dim: int, action_dim: int, hidden: tuple[int, ...] = (256, 256),
                 max_action: float = 1.0, log_std_bounds: tuple[float, float] = (-5.0, 2.0)
                 ) -> None:
        super().__init__()
        self.net = mlp(state_dim, hidden, 2 * action_dim)
        self.max_action = max_action
        self.log_std_bounds = log_std_bounds

    def forward(self, state: torch.Tensor, noise: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return squashed_gaussian(self.net(state), noise, self.max_action, self.log_std_bounds)


def squashed_gaussian(output: torch.Tensor, noise: torch.Tensor | None, max_action: float,
                      log_std_bounds: tuple[float, float], sample_dim: int = 0
                      ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """:class:`TanhGaussianActor`'s head on the MLP ``output`` (mean and log-std halves).

    Noise with one dimension more than the mean holds several samples per state, along
    ``sample_dim`` (after any leading seed dimension).
    """
    mean, log_std = output.chunk(2, dim=-1)
    if noise is None:
        return max_action * torch.tanh(mean)
    low, high = log_std_bounds
    log_std = log_std.clamp(low, high)
    if noise.dim() > mean.dim():  # several samples per state: (n, batch, action)
        mean, log_std = mean.unsqueeze(sample_dim), log_std.unsqueeze(sample_dim)
    pre_tanh = mean + log_std.exp() * noise
    log_prob = (-0.5 * noise**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    # log|d tanh(u)/du| = 2·(log 2 − u − softplus(−2u)), numerically stable
    log_prob = log_prob - (2 * (math.log(2) - pre_tanh - F.softplus(-2 * pre_tanh))).sum(-1)
    return max_action * torch.tanh(pre_tanh), log_prob


class Temperature(nn.Module):
    """A learnable entropy temperature ``α = exp(log_α)`` (SAC, CQL)."""

    def __init__(self, initial: float = 1.0) -> None:
        super().__init__()
        self.log_alpha = nn.Parameter(torch.tensor(float(initial)).log())

    def forward(self, like: torch.Tensor) -> torch.Tensor:
        """``log α`` broadcast to ``like``'s shape (a copy: an expanded view of the parameter
        made under ``no_grad`` would still claim to require grad, with no graph behind it)."""
        return self.log_alpha.expand(like.shape).clone()
