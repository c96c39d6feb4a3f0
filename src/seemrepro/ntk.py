"""Public API: empirical NTK Gram matrices ``G(X1, X2) = J(X1) J(X2)^T`` of scalar critics.

``gram(critic, x1, x2)`` is the matrix; ``ntk_features`` keeps the per-sample gradient factors
so that several Gram matrices share one pass. The implementation lives in
:mod:`seemrepro.core.ntk`.
"""

from seemrepro.core.ntk import (
    NTKFeatures,
    cosine,
    gram,
    ntk_cosine,
    ntk_features,
    per_sample_gradients,
)

__all__ = ["NTKFeatures", "cosine", "gram", "ntk_cosine", "ntk_features", "per_sample_gradients"]
