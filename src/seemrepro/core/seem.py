"""SEEM: the largest real part among the eigenvalues of ``A = γ·G(X*, X) − G(X, X)``.

Theorem 1 of the paper: after one small step of Q-value iteration the TD-error vector obeys
``u_{t+1} ≈ (I + ηA) u_t``, so a positive SEEM means the TD error grows (self-excitation).
The normalized SEEM divides by ``‖A‖_F`` and is scale free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg
import torch
from torch import nn

from seemrepro.core.ntk import Method, check_batch, eval_mode, ntk_features


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
    a = torch.zeros(fx.num_samples, fx.num_samples, dtype=torch.float64, device=x.device)
    fs.accumulate_gram(fx, a, alpha=gamma)
    fx.accumulate_gram(fx, a, alpha=-1.0)
    return a


EigenMethod = Literal["auto", "dense", "mixed"]

# Below this size the dense float64 solve is about as fast as the mixed path and needs no checks.
MIXED_MIN_SIZE = 1024
# The mixed path gives up (dense fallback) when more float32 eigenvalues than this need refining.
MIXED_MAX_REFINED = 64
# Window half-width in units of the float32 backward-error scale ``eps32 * sqrt(M) * ||A||_F``.
MIXED_WINDOW = 32.0


@dataclass(frozen=True)
class Rightmost:
    """The rightmost eigenvalue and how it was obtained.

    ``method`` is ``"dense"`` (float64 LAPACK), ``"mixed"`` (float32 dense solve refined in
    float64), or ``"dense-fallback"`` (the mixed path could not vouch for its answer;
    ``reason`` says why).
    """

    value: complex
    method: str
    reason: str = ""


def _dense_rightmost(a: np.ndarray) -> complex:
    values = scipy.linalg.eigvals(a, check_finite=False)
    return complex(values[int(np.argmax(values.real))])


def _mixed_rightmost(a: np.ndarray) -> tuple[complex | None, str]:
    """Rightmost eigenvalue from a float32 dense solve, refined in float64; ``None`` if unsure.

    1. ``sgeev`` gives every eigenvalue, each exact for ``A + E`` with ``||E||`` of order
       ``eps32 * sqrt(M) * ||A||_F`` (backward stability), so it locates the right edge.
    2. All float32 eigenvalues within a window ``w`` of the largest real part (or their
       upper-half-plane members) lie in a disk around a shift ``sigma``, real if that disk
       holds few eigenvalues, else centred on the complex candidates; shift-invert Arnoldi on
       the float64 matrix (one LU) computes the eigenvalues nearest ``sigma`` in float64.
    3. Accepted only if the float64 and float32 eigenvalues in the disk match one to one, each
       within ``w / 8``, with a clear gap at the disk's edge. Eigenvalues outside the disk have
       float32 real parts below the edge by ``w``, so they could only overtake if their float32
       error were 8x the worst seen inside the disk.
    """
    m = a.shape[0]
    frobenius = float(np.linalg.norm(a))
    if frobenius == 0.0:
        return 0j, ""
    w32 = scipy.linalg.eigvals(a.astype(np.float32), check_finite=False).astype(np.complex128)
    if not np.all(np.isfinite(w32)):
        return None, "float32 solve gave non-finite eigenvalues"
    eps32 = float(np.finfo(np.float32).eps)
    window = MIXED_WINDOW * eps32 * np.sqrt(m) * frobenius
    slack = window / 8
    rho32 = float(w32.real.max())
    candidates = w32[w32.real >= rho32 - window]
    upper = candidates[candidates.imag >= 0]
    # A real shift keeps the LU real; a complex one (4x the LU cost) centres the disk on a
    # complex pair so the disk need not reach down to the real axis.
    shifts = [complex(rho32 + window)]
    mid = 0.5 * (float(upper.imag.max()) + float(upper.imag.min()))
    if mid > 0:
        shifts.append(complex(rho32 + window, mid))
    for sigma in shifts:
        # Candidates in the lower half-plane are conjugates of upper ones: one disk suffices.
        targets = candidates if sigma.imag == 0 else upper
        dist32 = np.sort(np.abs(w32 - sigma))
        radius = float(np.abs(targets - sigma).max())
        inside = int(np.searchsorted(dist32, radius, side="right"))
        # Grow the disk until no float32 eigenvalue sits within 2*slack of its edge.
        while inside < m and dist32[inside] <= radius + 2 * slack:
            radius = float(dist32[inside])
            inside += 1
        if inside <= MIXED_MAX_REFINED:
            break
    else:
        return None, f"{inside} eigenvalues near the right edge (more than {MIXED_MAX_REFINED})"
    k = inside + 2
    if k >= m - 1:
        return None, "matrix too small for Arnoldi"
    try:
        dtype = np.float64 if sigma.imag == 0 else np.complex128
        shift = sigma.real if sigma.imag == 0 else sigma
        lu = scipy.linalg.lu_factor(a.astype(dtype) - shift * np.eye(m), check_finite=False)
        op = scipy.sparse.linalg.LinearOperator(
            (m, m), matvec=lambda v: scipy.linalg.lu_solve(lu, v, check_finite=False),
            dtype=dtype)
        v0 = np.asarray(np.random.default_rng(0).standard_normal(m), dtype=dtype)
        nu = scipy.sparse.linalg.eigs(
            op, k=k, which="LM", v0=v0, ncv=min(m, max(2 * k + 1, 40)), tol=1e-10,
            maxiter=max(1000, 10 * m), return_eigenvectors=False)
        w64 = sigma + 1.0 / nu
    except (scipy.sparse.linalg.ArpackNoConvergence, scipy.sparse.linalg.ArpackError,
            scipy.linalg.LinAlgError, ZeroDivisionError) as error:
        return None, f"shift-invert Arnoldi failed: {error}"
    if not np.all(np.isfinite(w64)):
        return None, "shift-invert Arnoldi gave non-finite eigenvalues"
    near = w64[np.abs(w64 - sigma) <= radius + slack]
    if near.size != inside:
        return None, (f"float64 found {near.size} eigenvalues in the disk, float32 {inside}")
    ref = w32[np.argsort(np.abs(w32 - sigma))[:inside]]
    rows, cols = scipy.optimize.linear_sum_assignment(np.abs(near[:, None] - ref[None, :]))
    worst = float(np.abs(near[rows] - ref[cols]).max())
    if worst > slack:
        return None, (f"float32 and float64 eigenvalues differ by {worst / frobenius:.2e} "
                      f"||A||_F (allowed {slack / frobenius:.2e})")
    best = complex(near[int(np.argmax(near.real))])
    best = complex(best.real, abs(best.imag))
    if best.real < rho32 - slack:
        return None, "refined right edge moved left of the float32 one"
    return best, ""


def find_rightmost(a: torch.Tensor | np.ndarray, method: EigenMethod = "auto") -> Rightmost:
    """The eigenvalue of a real square matrix with the largest real part.

    ``dense``: LAPACK ``dgeev``. ``mixed``: float32 ``sgeev`` plus a float64 shift-invert
    refinement of the right edge, with a dense float64 fallback whenever its checks fail (see
    ``_mixed_rightmost``); about 2x faster at M = 2,560. ``auto``: ``mixed`` from
    ``MIXED_MIN_SIZE`` rows up, else ``dense``.
    """
    arr = (a.detach().cpu().double().numpy() if isinstance(a, torch.Tensor)
           else np.asarray(a, dtype=np.float64))
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"expected a non-empty square matrix, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("the matrix has non-finite entries")
    if method == "auto":
        method = "mixed" if arr.shape[0] >= MIXED_MIN_SIZE else "dense"
    if method == "dense":
        return Rightmost(_dense_rightmost(arr), "dense")
    if method != "mixed":
        raise ValueError(f"unknown eigen method {method!r}; choose auto, dense or mixed")
    value, reason = _mixed_rightmost(arr)
    if value is None:
        return Rightmost(_dense_rightmost(arr), "dense-fallback", reason)
    return Rightmost(value, "mixed")


def rightmost_eigenvalue(a: torch.Tensor | np.ndarray, method: EigenMethod = "auto") -> complex:
    """The eigenvalue of a real square matrix with the largest real part (see ``find_rightmost``)."""
    return find_rightmost(a, method).value


def seem_from_matrix(a: torch.Tensor, *, eigen: EigenMethod = "auto") -> SEEM:
    frobenius = float(torch.linalg.matrix_norm(a.double()))
    eigenvalue = rightmost_eigenvalue(a, eigen)
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
    eigen: EigenMethod = "auto",
) -> SEEM:
    """SEEM of ``critic`` for dataset inputs ``X`` and their bootstrap inputs ``X*``.

    ``raw`` is the largest real part of an eigenvalue of ``A = γ·G(X*, X) − G(X, X)``, with
    ``G`` the NTK Gram matrix, in the units of ``G``; ``normalized`` is ``raw / ‖A‖_F``,
    which no rescaling of ``A`` changes. With ``normalize_by_parameters`` every Gram entry is
    divided by P, the number of trainable parameters (the training monitor does this, as the
    paper's code does), so ``raw`` is P times smaller and comparable across critic sizes.
    ``method`` picks how the NTK is computed, ``eigen`` how the eigenvalue is found.

    Rows of ``X`` should be distinct: two equal rows make ``A`` singular, which adds an exact
    zero eigenvalue, so a negative SEEM would read as zero.
    """
    a = seem_matrix(critic, x, x_next, gamma, method=method,
                    normalize_by_parameters=normalize_by_parameters)
    return seem_from_matrix(a, eigen=eigen)


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
