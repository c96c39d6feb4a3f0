"""Public API: SEEM, the largest real eigenvalue of ``A = γ·G(X*, X) − G(X, X)``.

``seem(critic, x, x_next, gamma)`` returns a :class:`SEEM` (raw, normalized, ‖A‖_F and the
eigenvalue); ``seem_matrix`` gives A itself and ``seem_reference`` is the slow brute-force
reference. The implementation lives in :mod:`seemrepro.core.seem`.
"""

from seemrepro.core.seem import SEEM, seem, seem_matrix, seem_reference

__all__ = ["SEEM", "seem", "seem_matrix", "seem_reference"]
