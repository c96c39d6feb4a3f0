"""Training monitors, one file each (see :mod:`seemrepro.engine.monitors.base` for the
protocol)."""

from seemrepro.engine.monitors.base import (
    MONITORS,
    Monitor,
    RunView,
    build_monitors,
    register_monitor,
)
from seemrepro.engine.monitors.evaluation import EvaluationMonitor
from seemrepro.engine.monitors.q_values import QMonitor, diverged
from seemrepro.engine.monitors.seem import SEEMMonitor
from seemrepro.engine.monitors.similarity import (
    SIMILARITY_METRICS,
    SnapshotMonitor,
    flat_parameters,
    similarity_rows,
)

__all__ = ["MONITORS", "SIMILARITY_METRICS", "EvaluationMonitor", "Monitor", "QMonitor",
           "RunView", "SEEMMonitor", "SnapshotMonitor", "build_monitors", "diverged",
           "flat_parameters", "register_monitor", "similarity_rows"]
