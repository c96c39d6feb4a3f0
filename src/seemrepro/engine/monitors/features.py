"""Hidden-layer activations of a critic, for the representation monitors (srank, dormant).

A critic (:class:`seemrepro.core.critics.MLPCritic`) is ``Linear → [norm] → ReLU → [dropout]``
per hidden layer and a final ``Linear``; its hidden features are the outputs of its ReLUs, in
forward order, and the last of them are the penultimate features φ(s, a) on which the output
layer is linear (dropout is off while they are read).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from seemrepro.engine.monitors.base import RunView


@contextmanager
def evaluation_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode (no dropout, no random draws), its own mode restored after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def hidden_activations(critic: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """The output of every ReLU of ``critic`` on ``inputs`` (rows of (s, a)), in forward order,
    each shaped ``(N, width)``; an empty list for a critic without hidden layers."""
    captured: list[torch.Tensor] = []

    def keep(module: nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        captured.append(output.detach())

    handles = [m.register_forward_hook(keep) for m in critic.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad(), evaluation_mode(critic):
            critic(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return captured



def hidden_activations_on_x(run: RunView, monitor: str) -> list[torch.Tensor]:
    """:func:`hidden_activations` of the run's first critic on its fixed X; ``monitor`` names
    the caller in the error raised for a critic without hidden layers."""
    layers = hidden_activations(run.critic, run.x.critic_inputs)
    if not layers:
        raise ValueError(f"the {monitor} monitor needs a critic with a hidden layer")
    return layers
