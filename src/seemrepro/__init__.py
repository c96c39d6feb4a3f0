"""seemrepro: SEEM, NTK and normalized critics for studying Q-value divergence in offline RL."""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seemrepro.monitor import SEEMMonitor

__all__ = ["SEEMMonitor", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that ``import seemrepro`` does not load torch.
    if name == "SEEMMonitor":
        from seemrepro.monitor import SEEMMonitor

        return SEEMMonitor
    raise AttributeError(f"module 'seemrepro' has no attribute {name!r}")
