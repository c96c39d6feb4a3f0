"""Empirical neural tangent kernel: Gram matrices ``G(X1, X2) = J(X1) J(X2)^T``.

Two ways to the same matrix:

* ``structured`` (fast path): for a Linear layer the per-sample gradient of its weight is the
  outer product of the back-propagated signal ``d`` at its output and its input ``h``, so that
  layer's Gram block is ``(D1 D2^T) * (H1 H2^T)`` (elementwise), built from two small Gram
  matrices instead of products over all its weights. The affine parameters of the normalizations
  registered in :mod:`seemrepro.core.norms` (LayerNorm, eval-mode BatchNorm, ...) have small
  per-sample gradients, which are kept as they are. One batched forward and backward pass gives
  every factor.
* ``jacobian`` (any module): per-sample gradients of all trainable parameters with
  ``torch.func`` (``vmap`` over ``grad``), computed in chunks.

Both are evaluated with the module in eval mode (BatchNorm running statistics, no dropout):
only then is ``f(x)`` a function of ``x`` alone, so per-sample gradients are defined.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.nn.utils import parametrize

from seemrepro.core.critics import parameter_count
from seemrepro.core.norms import NORMALIZATIONS, normalization_of

Method = Literal["auto", "structured", "jacobian"]

_ROW_CHUNK = 1024


def _required_inputs(module: nn.Module) -> int:
    """How many positional inputs ``module(...)`` requires (1 when it cannot be told)."""
    try:
        signature = inspect.signature(module.forward if isinstance(module, nn.Module) else module)
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in signature.parameters.values()
               if p.kind in kinds and p.default is inspect.Parameter.empty)


def check_batch(module: nn.Module, x: torch.Tensor, name: str = "X") -> None:
    """Raise ``ValueError`` unless ``x`` is a non-empty (N, d) batch giving one scalar per row."""
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D batch (N, d), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    required = _required_inputs(module)
    if required != 1:
        raise ValueError(
            f"the module must take one batch X of concatenated (s, a) rows; its forward takes "
            f"{required} required inputs. Wrap a critic q(s, a) as "
            f"f(x) = q(x[:, :state_dim], x[:, state_dim:]), an nn.Module whose forward(x) "
            f"returns one Q per row"
        )
    with torch.no_grad(), eval_mode(module):
        out = module(x[:2])
    if out.shape not in ((min(2, x.shape[0]),), (min(2, x.shape[0]), 1)):
        raise ValueError(
            "the module must return one scalar per sample, shape (N,) or (N, 1); "
            f"it returned shape {tuple(out.shape)} for {min(2, x.shape[0])} samples"
        )


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


@dataclass
class NTKFeatures:
    """Per-sample gradient factors of a batch; ``a.gram(b)`` is ``G(a's batch, b's batch)``.

    ``outer`` holds (D, H) pairs whose per-sample gradient is ``d ⊗ h``; ``dense`` holds
    per-sample gradients kept as rows. ``scale`` multiplies every Gram entry.
    """

    outer: list[tuple[torch.Tensor, torch.Tensor]]
    dense: list[torch.Tensor]
    scale: float = 1.0

    @property
    def num_samples(self) -> int:
        blocks = [d for d, _ in self.outer] + self.dense
        return int(blocks[0].shape[0])

    def gram(self, other: NTKFeatures, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``G(self, other)``, accumulated in ``dtype`` (default: the features' own)."""
        first = (self.outer[0][0] if self.outer else self.dense[0])
        result = torch.zeros(self.num_samples, other.num_samples, dtype=dtype or first.dtype,
                             device=first.device)
        self.accumulate_gram(other, result)
        return result

    def accumulate_gram(self, other: NTKFeatures, out: torch.Tensor, alpha: float = 1.0) -> None:
        """``out += alpha * G(self, other)`` in place.

        Each layer's block is formed in the features' dtype and added into ``out``'s dtype, so
        float32 features summed into float64 cost one extra pass instead of three casts.
        """
        if out.shape != (self.num_samples, other.num_samples):
            raise ValueError(f"out has shape {tuple(out.shape)}, expected "
                             f"{(self.num_samples, other.num_samples)}")
        weight = alpha * self.scale
        for start in range(0, self.num_samples, _ROW_CHUNK):
            rows = slice(start, min(start + _ROW_CHUNK, self.num_samples))
            block = out[rows]
            for (d1, h1), (d2, h2) in zip(self.outer, other.outer, strict=True):
                prod = d1[rows] @ d2.T
                prod.mul_(h1[rows] @ h2.T)
                block.add_(prod, alpha=weight)
            for f1, f2 in zip(self.dense, other.dense, strict=True):
                block.add_(f1[rows] @ f2.T, alpha=weight)


def _leaf_modules_with_parameters(module: nn.Module) -> list[nn.Module]:
    leaves = []
    for sub in module.modules():
        own = [p for p in sub.parameters(recurse=False) if p.requires_grad]
        if parametrize.is_parametrized(sub):
            own = [p for p in sub.parameters() if p.requires_grad]
        if own:
            leaves.append(sub)
    return leaves


def supports_structured(module: nn.Module) -> bool:
    """Whether every trainable parameter sits in a Linear or a supported registered norm."""
    for leaf in _leaf_modules_with_parameters(module):
        if parametrize.is_parametrized(leaf):
            return False
        if isinstance(leaf, nn.Linear):
            continue
        norm = normalization_of(leaf)
        if norm is None or not norm.ntk_supported(leaf):
            return False
    return True


def _structured_features(module: nn.Module, x: torch.Tensor) -> NTKFeatures:
    leaves = _leaf_modules_with_parameters(module)
    captured: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        captured[mod] = (inputs[0].detach(), output)

    handles = [leaf.register_forward_hook(hook) for leaf in leaves]
    try:
        with eval_mode(module), torch.enable_grad():
            out = module(x).reshape(-1)
            outputs = [captured[leaf][1] for leaf in leaves]
            signals = torch.autograd.grad(out.sum(), outputs, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()

    outer: list[tuple[torch.Tensor, torch.Tensor]] = []
    dense: list[torch.Tensor] = []
    for leaf, signal in zip(leaves, signals, strict=True):
        inp = captured[leaf][0]
        d = torch.zeros_like(captured[leaf][1]) if signal is None else signal.detach()
        if isinstance(leaf, nn.Linear):
            weight_trainable = leaf.weight.requires_grad
            bias_trainable = leaf.bias is not None and leaf.bias.requires_grad
            if weight_trainable:
                h = inp
                if bias_trainable:
                    h = torch.cat([h, torch.ones_like(h[:, :1])], dim=1)
                outer.append((d, h))
            elif bias_trainable:
                dense.append(d)
        else:
            norm = normalization_of(leaf)
            assert norm is not None  # supports_structured checked it
            dense.extend(norm.ntk_features(leaf, inp, d))
    return NTKFeatures(outer=outer, dense=dense)


def per_sample_gradients(module: nn.Module, x: torch.Tensor, chunk_size: int = 256) -> torch.Tensor:
    """Rows are the flattened gradients of ``f(x_i)`` over all trainable parameters, (N, P)."""
    params = {k: v.detach() for k, v in module.named_parameters() if v.requires_grad}
    frozen = {k: v.detach() for k, v in module.named_parameters() if not v.requires_grad}
    buffers = dict(module.named_buffers())

    def f_single(p: dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return functional_call(module, (p, frozen, buffers), (xi.unsqueeze(0),)).reshape(())

    per_sample = vmap(grad(f_single), in_dims=(None, 0))
    rows = []
    with eval_mode(module):
        for start in range(0, x.shape[0], chunk_size):
            grads = per_sample(params, x[start : start + chunk_size])
            rows.append(torch.cat([g.reshape(g.shape[0], -1) for g in grads.values()], dim=1))
    return torch.cat(rows)


def ntk_features(
    module: nn.Module,
    x: torch.Tensor,
    *,
    method: Method = "auto",
    normalize_by_parameters: bool = False,
    chunk_size: int = 256,
) -> NTKFeatures:
    """Gradient factors of ``module`` at the rows of ``x``.

    ``normalize_by_parameters`` divides Gram entries by P, the number of trainable parameters
    (the scaling used by the paper's own code).
    """
    check_batch(module, x)
    if method == "auto":
        method = "structured" if supports_structured(module) else "jacobian"
    if method == "structured":
        if not supports_structured(module):
            raise ValueError(
                "the structured NTK supports Linear layers and the registered normalizations "
                f"({', '.join(NORMALIZATIONS)}) only; use method='jacobian' for this module"
            )
        features = _structured_features(module, x)
    elif method == "jacobian":
        features = NTKFeatures(outer=[], dense=[per_sample_gradients(module, x, chunk_size)])
    else:
        raise ValueError(f"unknown NTK method {method!r}; choose auto, structured or jacobian")
    if normalize_by_parameters:
        features.scale = 1.0 / parameter_count(module)
    return features


def gram(
    module: nn.Module,
    x1: torch.Tensor,
    x2: torch.Tensor | None = None,
    *,
    method: Method = "auto",
    normalize_by_parameters: bool = False,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """NTK Gram matrix ``G(x1, x2)`` of a scalar-output module, shape (N1, N2)."""
    f1 = ntk_features(module, x1, method=method, normalize_by_parameters=normalize_by_parameters)
    f2 = f1 if x2 is None else ntk_features(
        module, x2, method=method, normalize_by_parameters=normalize_by_parameters
    )
    return f1.gram(f2, dtype=dtype)


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two tensors seen as flat vectors (in float64)."""
    u, v = a.detach().double().flatten(), b.detach().double().flatten()
    return float(u @ v / (u.norm() * v.norm()))


def ntk_cosine(g1: torch.Tensor, g2: torch.Tensor) -> float:
    """Cosine similarity of two Gram matrices seen as vectors."""
    return cosine(g1, g2)
