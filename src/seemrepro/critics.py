"""Public API: MLP critics on (s, a) with the normalization variants the paper compares.

``make_critic(input_dim, hidden, norm="layernorm", seed=0)`` builds one; ``CriticConfig`` is the
same architecture as a value that agents take (``critic.norm=layernorm`` on the command line).
The implementation lives in :mod:`seemrepro.core.critics`.
"""

from seemrepro.core.critics import (
    CriticConfig,
    MLPCritic,
    build_critic,
    make_critic,
    parameter_count,
    parameter_norm,
)

__all__ = ["CriticConfig", "MLPCritic", "build_critic", "make_critic", "parameter_count",
           "parameter_norm"]
