"""Checks of the paper's theory that need no agent: Theorem 1, Lemma 1, Propositions 1–2."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from seemrepro.core.ntk import gram, ntk_cosine, per_sample_gradients
from seemrepro.core.seem import check_gamma, check_pair, seem_matrix


def loglog_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Least-squares slope of log(y) against log(x)."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    valid = np.isfinite(xa) & np.isfinite(ya) & (xa > 0) & (ya > 0)
    if xa.size < 2 or xa.shape != ya.shape or not valid.all():
        raise ValueError("loglog_slope needs at least two positive, finite (x, y) points")
    lx, ly = np.log(xa), np.log(ya)
    return float(np.polyfit(lx, ly, 1)[0])


def td_errors(critic: nn.Module, x: torch.Tensor, x_next: torch.Tensor,
              rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """``u = f(X) − (r + γ f(X*))``."""
    with torch.no_grad():
        return critic(x) - (rewards + gamma * critic(x_next))


def one_step_prediction(
    critic: nn.Module,
    x: torch.Tensor,
    x_next: torch.Tensor,
    rewards: torch.Tensor,
    gamma: float,
    learning_rates: Sequence[float],
) -> pd.DataFrame:
    """Theorem 1: compare the actual change of the TD-error vector after one SGD step with ``ηAu``.

    The step is ``θ ← θ − η ∇θ ½‖f(X) − sg(r + γ f(X*))‖²`` with X* held fixed. Returns one row per
    learning rate with the norms of the actual change, the prediction and their difference.
    """
    check_gamma(gamma)
    check_pair(x, x_next)
    if any(lr <= 0 for lr in learning_rates):
        raise ValueError("learning rates must be positive")
    a = seem_matrix(critic, x, x_next, gamma)
    u = td_errors(critic, x, x_next, rewards, gamma).double()
    direction = per_sample_gradients(critic, x).T.double() @ u  # ∇θ ½‖u‖² with a fixed target
    rows = []
    for lr in learning_rates:
        stepped = copy.deepcopy(critic)
        with torch.no_grad():
            offset = 0
            for p in (p for p in stepped.parameters() if p.requires_grad):
                n = p.numel()
                p.sub_(lr * direction[offset: offset + n].reshape(p.shape).to(p.dtype))
                offset += n
        actual = td_errors(stepped, x, x_next, rewards, gamma).double() - u
        predicted = lr * (a @ u)
        rows.append({
            "learning_rate": lr,
            "actual_change": float(actual.norm()),
            "predicted_change": float(predicted.norm()),
            "prediction_error": float((actual - predicted).norm()),
        })
    table = pd.DataFrame(rows)
    table["relative_error"] = table.prediction_error / table.actual_change
    return table


def scaled_copy(module: nn.Module, factor: float) -> nn.Module:
    """A copy with every trainable parameter multiplied by ``factor``."""
    scaled = copy.deepcopy(module)
    with torch.no_grad():
        for p in scaled.parameters():
            if p.requires_grad:
                p.mul_(factor)
    return scaled


def homogeneity_table(
    critic: nn.Module, x: torch.Tensor, depth: int, factors: Sequence[float] = (5.0, 10.0)
) -> pd.DataFrame:
    """Lemma 1: how output, gradient and NTK of ``f_{λθ}`` scale against powers of λ.

    For each λ: the mean over the rows of ``x`` of the output ratio (target λ^L) and of the
    gradient-norm ratio (target λ^(L−1)), the ratio of Gram matrices' Frobenius norms (target
    λ^(2(L−1))), the cosine between the two Gram matrices, and for each quantity the largest
    relative deviation from its target over all samples.
    """
    with torch.no_grad():
        out = critic(x).double()
    grads = per_sample_gradients(critic, x).double()
    kernel = gram(critic, x, dtype=torch.float64)
    rows = []
    for factor in factors:
        scaled = scaled_copy(critic, factor)
        with torch.no_grad():
            out_ratio = scaled(x).double() / out
        grad_ratio = per_sample_gradients(scaled, x).double().norm(dim=1) / grads.norm(dim=1)
        kernel_scaled = gram(scaled, x, dtype=torch.float64)
        ntk_ratio = kernel_scaled.norm() / kernel.norm()
        targets = (factor ** depth, factor ** (depth - 1), factor ** (2 * (depth - 1)))
        rows.append({
            "lambda": factor,
            "output_ratio": float(out_ratio.mean()), "output_target": targets[0],
            "output_worst_dev": float(((out_ratio - targets[0]).abs() / targets[0]).max()),
            "grad_ratio": float(grad_ratio.mean()), "grad_target": targets[1],
            "grad_worst_dev": float(((grad_ratio - targets[1]).abs() / targets[1]).max()),
            "ntk_ratio": float(ntk_ratio), "ntk_target": targets[2],
            "ntk_dev": float(abs(ntk_ratio - targets[2]) / targets[2]),
            "ntk_cosine": ntk_cosine(kernel, kernel_scaled),
        })
    return pd.DataFrame(rows)


def normalized_ntk_map(critic: nn.Module, x0: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``k(x0, x) / k(x0, x0)`` for every row ``x`` of ``points``."""
    x0 = x0.reshape(1, -1).to(points.dtype)
    row = gram(critic, x0, points, dtype=torch.float64)[0]
    own = gram(critic, x0, dtype=torch.float64)[0, 0]
    return row / own


@dataclass(frozen=True)
class Grid2D:
    """A square grid of 2-D points, row-major with y varying along rows."""

    xs: np.ndarray
    ys: np.ndarray

    @classmethod
    def square(cls, half_width: float, resolution: int) -> Grid2D:
        axis = np.linspace(-half_width, half_width, resolution)
        return cls(axis, axis)

    def points(self, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        gx, gy = np.meshgrid(self.xs, self.ys)
        return torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=dtype)

    def reshape(self, values: torch.Tensor | np.ndarray) -> np.ndarray:
        return np.asarray(values).reshape(len(self.ys), len(self.xs))

    def index_of(self, point: Sequence[float]) -> tuple[int, int]:
        return int(np.abs(self.ys - point[1]).argmin()), int(np.abs(self.xs - point[0]).argmin())


def kernel_along_ray(critic: nn.Module, x0: torch.Tensor, factors: Sequence[float]) -> np.ndarray:
    """``k(x0, λ·x0)`` for each λ (Propositions 1 and 2)."""
    x0 = x0.reshape(1, -1)
    points = torch.cat([float(f) * x0 for f in factors])
    return gram(critic, x0, points, dtype=torch.float64)[0].numpy()
