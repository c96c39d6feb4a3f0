"""Actor networks shared by the agents."""

from __future__ import annotations

import torch
from torch import nn


def mlp(input_dim: int, hidden: tuple[int, ...], output_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = input_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
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
