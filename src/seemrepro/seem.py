"""SEEM: the largest real part among the eigenvalues of ``A = γ·G(X*, X) − G(X, X)``.

Theorem 1 of the paper: after one small step of Q-value iteration the TD-error vector obeys
``u_{t+1} ≈ (I + ηA) u_t``, so a positive SEEM means the TD error grows (self-excitation).
The normalized SEEM divides by ``‖A‖_F`` and is scale free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch
from torch import nn

from seemrepro.ntk import Method, check_batch, eval_mode, ntk_features


@dataclass(frozen=True)
class SEEM:
    """Raw SEEM, its normalized form, ``‖A‖_F`` and the rightmost eigenvalue itself."""

    raw: float
    normalized: float
    frobenius: float
    eigenvalue: complex

    @property
    def diverging(self) -> bool:
        return self.raw > 0


def check_gamma(gamma: float) -> None:
    if not 0.0 <= gamma < 1.0:
        raise ValueError(f"discount gamma must lie in [0, 1), got {gamma}")


def check_pair(x: torch.Tensor, x_next: torch.Tensor) -> None:
    if x.shape != x_next.shape:
        raise ValueError(
            f"X and X* must have the same shape, got {tuple(x.shape)} and {tuple(x_next.shape)}"
        )


def seem_matrix(
    critic: nn.Module,
    x: torch.Tensor,
    x_next: torch.Tensor,
    gamma: float,
    *,
    method: Method = "auto",
    normalize_by_parameters: bool = False,
) -> torch.Tensor:
    """``A = γ·G(X*, X) − G(X, X)`` in float64, shape (M, M).

    Row ``i`` of ``A`` is how a unit gradient step on sample ``j`` moves the TD error of ``i``.
    """
    check_gamma(gamma)
    check_pair(x, x_next)
    check_batch(critic, x, "X")
    fx = ntk_features(critic, x, method=method, normalize_by_parameters=normalize_by_parameters)
    fs = ntk_features(
        critic, x_next, method=method, normalize_by_parameters=normalize_by_parameters
    )
    return gamma * fs.gram(fx, dtype=torch.float64) - fx.gram(fx, dtype=torch.float64)


def rightmost_eigenvalue(a: torch.Tensor) -> complex:
    """The eigenvalue of a real square matrix with the largest real part (dense LAPACK solve)."""
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"expected a non-empty square matrix, got shape {tuple(a.shape)}")
    values = scipy.linalg.eigvals(
        a.detach().cpu().double().numpy(), check_finite=True, overwrite_a=True
    )
    return complex(values[int(np.argmax(values.real))])


def seem_from_matrix(a: torch.Tensor) -> SEEM:
    frobenius = float(torch.linalg.matrix_norm(a.double()))
    eigenvalue = rightmost_eigenvalue(a)
    normalized = eigenvalue.real / frobenius if frobenius > 0 else 0.0
    return SEEM(raw=eigenvalue.real, normalized=normalized, frobenius=frobenius,
                eigenvalue=eigenvalue)


def seem(
    critic: nn.Module,
    x: torch.Tensor,
    x_next: torch.Tensor,
    gamma: float,
    *,
    method: Method = "auto",
    normalize_by_parameters: bool = False,
) -> SEEM:
    """SEEM of ``critic`` for dataset inputs ``X`` and their bootstrap inputs ``X*``."""
    a = seem_matrix(critic, x, x_next, gamma, method=method,
                    normalize_by_parameters=normalize_by_parameters)
    return seem_from_matrix(a)


def seem_reference(
    critic: nn.Module,
    x: torch.Tensor,
    x_next: torch.Tensor,
    gamma: float,
    *,
    normalize_by_parameters: bool = False,
) -> SEEM:
    """Brute force: one backward pass per sample, full Gram products, dense ``eigvals``.

    Slow by design; it is the yardstick that the fast path is tested and benchmarked against.
    """
    check_gamma(gamma)
    check_pair(x, x_next)
    check_batch(critic, x, "X")
    params = [p for p in critic.parameters() if p.requires_grad]

    def jacobian(inputs: torch.Tensor) -> torch.Tensor:
        rows = []
        for row in inputs:
            out = critic(row.unsqueeze(0)).reshape(())
            grads = torch.autograd.grad(out, params)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
        return torch.stack(rows)

    with eval_mode(critic), torch.enable_grad():
        j, j_next = jacobian(x), jacobian(x_next)
    a = gamma * (j_next @ j.T) - j @ j.T
    if normalize_by_parameters:
        a = a / sum(p.numel() for p in params)
    values = torch.linalg.eigvals(a.double())
    eigenvalue = complex(values[int(torch.argmax(values.real))])
    frobenius = float(torch.linalg.matrix_norm(a.double()))
    return SEEM(raw=eigenvalue.real, normalized=eigenvalue.real / frobenius,
                frobenius=frobenius, eigenvalue=eigenvalue)
