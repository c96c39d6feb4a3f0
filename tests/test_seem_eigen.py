"""The mixed-precision rightmost-eigenvalue path against the dense float64 solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch

from seemrepro.core.critics import make_critic
from seemrepro.core.seem import (
    find_rightmost,
    rightmost_eigenvalue,
    seem,
    seem_matrix,
    seem_reference,
)

M = 300


def dense_rightmost(a: np.ndarray) -> complex:
    values = scipy.linalg.eigvals(a)
    return complex(values[int(np.argmax(values.real))])


def hidden(blocks: np.ndarray, seed: int) -> np.ndarray:
    """``blocks`` under a random orthogonal similarity (so LAPACK cannot read them off)."""
    q = scipy.stats.ortho_group.rvs(blocks.shape[0], random_state=seed)
    return q @ blocks @ q.T


def complex_pair_matrix() -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.triu(rng.standard_normal((M, M)), 1) * 0.05
    t[np.diag_indices(M)] = rng.uniform(-2.0, 0.3, M)
    # Rightmost: 0.5 +- 0.8i, well above the real ones in |Im|.
    t[:2, :2] = [[0.5, 0.8], [-0.8, 0.5]]
    return hidden(t, 1)


def zero_cluster_matrix() -> np.ndarray:
    # About 200 eigenvalues within 1e-2 of zero, a complex pair just right of them.
    rng = np.random.default_rng(2)
    diag = np.concatenate([rng.uniform(-1e-6, 1e-6, 200), rng.uniform(-3.0, -0.1, M - 200)])
    t = np.diag(diag) + np.triu(rng.standard_normal((M, M)), 1) * 1e-3
    t[:2, :2] = [[2e-2, 5e-2], [-5e-2, 2e-2]]
    t[:2, 2:] = 0.0
    return hidden(t, 2)


def negative_matrix() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.standard_normal((M, M)) / np.sqrt(M) - 3.0 * np.eye(M)


def critic_matrix() -> np.ndarray:
    torch.manual_seed(0)
    critic = make_critic(6, (32, 32), seed=0, dtype=torch.float64)
    x = torch.randn(M, 6, dtype=torch.float64)
    x_next = x + 0.3 * torch.randn(M, 6, dtype=torch.float64)
    return seem_matrix(critic, x, x_next, 0.99).numpy()


CASES = {
    "complex_pair": complex_pair_matrix,
    "zero_cluster": zero_cluster_matrix,
    "negative": negative_matrix,
    "critic": critic_matrix,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_mixed_matches_dense(name: str) -> None:
    a = CASES[name]()
    frobenius = np.linalg.norm(a)
    expected = dense_rightmost(a)
    result = find_rightmost(a, "mixed")
    assert result.method == "mixed", result.reason
    assert abs(result.value.real - expected.real) <= 1e-6 * frobenius
    assert abs(abs(result.value.imag) - abs(expected.imag)) <= 1e-6 * frobenius


def test_case_properties() -> None:
    # The hard cases are what they claim to be.
    pair = dense_rightmost(complex_pair_matrix())
    assert abs(pair.imag) > 0.5
    cluster = zero_cluster_matrix()
    values = scipy.linalg.eigvals(cluster)
    assert np.sum(np.abs(values) < 1e-2) >= 150 and abs(dense_rightmost(cluster).imag) > 0
    assert dense_rightmost(negative_matrix()).real < -1.0


def test_tied_edge_falls_back() -> None:
    # 100 equal rightmost eigenvalues: too many to refine.
    diag = np.concatenate([np.ones(100), np.linspace(-2.0, 0.0, M - 100)])
    a = hidden(np.diag(diag), 4)
    result = find_rightmost(a, "mixed")
    assert result.method == "dense-fallback"
    assert "near the right edge" in result.reason
    assert result.value == dense_rightmost(a)


def test_ill_conditioned_falls_back() -> None:
    # Strongly non-normal: float32 eigenvalues are far from the float64 ones.
    rng = np.random.default_rng(5)
    t = np.diag(np.linspace(-1.0, 0.0, M)) + np.triu(rng.standard_normal((M, M)), 1) * 30.0
    a = hidden(t, 5)
    result = find_rightmost(a, "mixed")
    assert result.method == "dense-fallback", "mixed path accepted an ill-conditioned matrix"
    assert result.value == dense_rightmost(a)


def test_auto_and_validation() -> None:
    a = negative_matrix()
    assert find_rightmost(a).method == "dense"  # small M: dense
    assert rightmost_eigenvalue(torch.from_numpy(a)) == dense_rightmost(a)
    with pytest.raises(ValueError, match="eigen method"):
        find_rightmost(a, "qr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="square"):
        find_rightmost(np.ones((3, 4)))
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        find_rightmost(bad)


def test_seem_fast_paths_match_reference() -> None:
    # Structured NTK (fused accumulation) and the mixed eigen path against brute force.
    torch.manual_seed(1)
    critic = make_critic(5, (24, 24), seed=1, dtype=torch.float64)
    x = torch.randn(80, 5, dtype=torch.float64)
    x_next = x + 0.5 * torch.randn(80, 5, dtype=torch.float64)
    reference = seem_reference(critic, x, x_next, 0.9)
    for eigen in ("dense", "mixed"):
        fast = seem(critic, x, x_next, 0.9, eigen=eigen)  # type: ignore[arg-type]
        assert abs(fast.raw - reference.raw) <= 1e-6 * reference.frobenius
        assert abs(fast.frobenius - reference.frobenius) <= 1e-9 * reference.frobenius
