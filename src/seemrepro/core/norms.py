r"""Hidden-layer normalizations of the critics, one registry entry per variant.

Every variant normalizes a layer's features and then, optionally, applies a learned per-feature
affine map:

.. math::

  \hat x = \mathcal{N}(x), \qquad y = \gamma \odot \hat x + \beta .

An entry of :data:`NORMALIZATIONS` gives everything the rest of the package needs to know about
one variant:

* ``build(width, affine)``: the module that sits between a hidden Linear layer and its ReLU
  (:class:`~seemrepro.core.critics.MLPCritic`);
* the structured-NTK rule (:mod:`seemrepro.core.ntk`): in eval mode :math:`\hat x` depends on
  the layer's input alone, so with :math:`d = \partial f / \partial y` the per-sample gradients
  of the affine parameters are

  .. math::

    \frac{\partial f}{\partial \gamma} = d \odot \hat x, \qquad
    \frac{\partial f}{\partial \beta} = d ,

  and the entry only has to say which modules it matches, whether a given one is supported and
  how to compute :math:`\hat x` from the layer's input;
* ``stack(layers)``: the stacked form used to train several seeds as one batched model
  (:mod:`seemrepro.rl.stacked`), or ``None`` when there is none and the stack falls back to
  ``vmap``.

A new variant is one :func:`register_normalization` call; critics, NTK and stacks pick it up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["NORMALIZATIONS", "Normalization", "StackedLayerNorm", "StackedNorm",
           "get_normalization", "normalization_of", "register_normalization",
           "unregister_normalization"]

ModuleT = TypeVar("ModuleT", bound=nn.Module)


class StackedNorm(nn.Module):
    """Stacked form of N copies of a normalization.

    ``forward`` maps ``(N, M, d) -> (N, M, d)`` (copy ``i`` normalizes ``x[i]``); parameters are
    the plain module's with a leading seed dimension, under the same names.
    """

    def seed_forward(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Copy ``index`` alone on ``(M, d)``."""
        raise NotImplementedError


class StackedLayerNorm(StackedNorm):
    """N LayerNorms over the last dimension of ``(N, M, d)``, affine or not."""

    def __init__(self, layers: Sequence[nn.LayerNorm]) -> None:
        super().__init__()
        first = layers[0]
        self.normalized_shape = tuple(first.normalized_shape)
        self.eps = first.eps
        self.weight: nn.Parameter | None
        self.bias: nn.Parameter | None
        for name in ("weight", "bias"):
            if getattr(first, name) is None:
                self.register_parameter(name, None)
            else:
                setattr(self, name, nn.Parameter(
                    torch.stack([getattr(layer, name).detach() for layer in layers])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x, self.normalized_shape, eps=self.eps)
        if self.weight is not None:
            y = y * self.weight.unsqueeze(1)
        if self.bias is not None:
            y = y + self.bias.unsqueeze(1)
        return y

    def seed_forward(self, x: torch.Tensor, index: int) -> torch.Tensor:
        weight, bias = self.weight, self.bias
        return F.layer_norm(x, self.normalized_shape, None if weight is None else weight[index],
                            None if bias is None else bias[index], self.eps)


def _always(module: nn.Module) -> bool:
    return True


def _no_stack(layers: Sequence[nn.Module]) -> StackedNorm | None:
    return None


@dataclass(frozen=True)
class Normalization(Generic[ModuleT]):
    """One hidden-layer normalization variant.

    Attributes:
      name: the value of ``CriticConfig.norm`` that selects it.
      module_type: the modules it describes; :func:`normalization_of` matches instances of it.
      build: ``(width, affine) -> module`` for a hidden layer of ``width`` features.
      normalized_input: ``(module, x) -> x̂``, the eval-mode normalized input, shaped like
        ``x``, without the affine map.
      ntk_supported: whether the structured NTK rule holds for this module (else the NTK falls
        back to ``torch.func`` Jacobians).
      stack: ``layers -> stacked form`` for N copies of one module, or ``None`` when it has
        none (the seed stack then falls back to ``vmap``).
    """

    name: str
    module_type: type[ModuleT]
    build: Callable[[int, bool], ModuleT]
    normalized_input: Callable[[ModuleT, torch.Tensor], torch.Tensor]
    ntk_supported: Callable[[ModuleT], bool] = _always
    stack: Callable[[Sequence[ModuleT]], StackedNorm | None] = _no_stack

    def ntk_features(self, module: ModuleT, x: torch.Tensor, d: torch.Tensor
                     ) -> list[torch.Tensor]:
        r"""Per-sample gradient rows of the module's trainable affine parameters.

        With ``x`` the layer's input and ``d`` the back-propagated signal at its output, both
        ``(N, width)``, the rows are :math:`d \odot \hat x` for the gain :math:`\gamma` and
        :math:`d` for the bias :math:`\beta`, each present only when trainable.
        """
        normalized = self.normalized_input(module, x)
        weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
        rows = []
        if weight is not None and weight.requires_grad:
            rows.append(d * normalized)
        if bias is not None and bias.requires_grad:
            rows.append(d)
        return rows


NORMALIZATIONS: dict[str, Normalization[Any]] = {}


def register_normalization(entry: Normalization[Any], *, replace: bool = False
                           ) -> Normalization[Any]:
    """Add ``entry`` under ``entry.name``; an existing name needs ``replace=True``."""
    if entry.name == "none":
        raise ValueError("'none' means no normalization and cannot be registered")
    if entry.name in NORMALIZATIONS and not replace:
        raise ValueError(f"normalization {entry.name!r} is already registered")
    NORMALIZATIONS[entry.name] = entry
    return entry


def unregister_normalization(name: str) -> Normalization[Any]:
    """Remove and return the entry called ``name``."""
    entry = get_normalization(name)
    del NORMALIZATIONS[name]
    return entry


def get_normalization(name: str) -> Normalization[Any]:
    """The entry called ``name``; ``ValueError`` naming the registered ones otherwise."""
    try:
        return NORMALIZATIONS[name]
    except KeyError:
        raise ValueError(f"unknown norm {name!r}; registered normalizations: "
                         f"{', '.join(NORMALIZATIONS)}") from None


def normalization_of(module: nn.Module) -> Normalization[Any] | None:
    """The entry describing ``module``: the nearest registered class in its MRO, else ``None``.

    Entries sharing a module type resolve to the first registered, so their rules should read
    their settings (groups, eps) from the module itself.
    """
    for cls in type(module).__mro__:
        for entry in NORMALIZATIONS.values():
            if entry.module_type is cls:
                return entry
    return None


def _layer_norm_input(module: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    r"""LayerNorm normalizes each row over its features:

    .. math::

      \hat x = \frac{x - \mu(x)}{\sqrt{\sigma^2(x) + \epsilon}}, \qquad
      \mu(x) = \tfrac1d \textstyle\sum_j x_j, \quad
      \sigma^2(x) = \tfrac1d \textstyle\sum_j (x_j - \mu(x))^2 .

    Per sample, so train and eval mode agree.
    """
    return F.layer_norm(x, module.normalized_shape, eps=module.eps)


def _stack_layer_norm(layers: Sequence[nn.LayerNorm]) -> StackedNorm | None:
    return StackedLayerNorm(layers) if len(layers[0].normalized_shape) == 1 else None


def _batch_norm_input(module: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    r"""BatchNorm in eval mode normalizes each feature with the running statistics ``m, v``:

    .. math::

      \hat x = \frac{x - m}{\sqrt{v + \epsilon}} .

    Only then is ``f(x)`` a function of ``x`` alone, hence :func:`_tracks_running_stats`.
    """
    assert module.running_mean is not None and module.running_var is not None
    return (x - module.running_mean) / torch.sqrt(module.running_var + module.eps)


def _tracks_running_stats(module: nn.BatchNorm1d) -> bool:
    return module.track_running_stats


register_normalization(Normalization(
    "layernorm", nn.LayerNorm, lambda width, affine: nn.LayerNorm(width, elementwise_affine=affine),
    _layer_norm_input, stack=_stack_layer_norm))
# no stacked form: batched seeds do not support BatchNorm's running statistics
register_normalization(Normalization(
    "batchnorm", nn.BatchNorm1d, lambda width, affine: nn.BatchNorm1d(width, affine=affine),
    _batch_norm_input, ntk_supported=_tracks_running_stats))
