"""seemrepro: SEEM, NTK and normalized critics for studying Q-value divergence in offline RL."""

__version__ = "0.1.0"
