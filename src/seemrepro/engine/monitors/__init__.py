"""Training monitors, one file each (see :mod:`seemrepro.engine.monitors.base` for the
protocol). The divergence signals beside SEEM (``norm_growth``, ``srank``, ``dormant``,
``churn``, ``td_error``) are off unless turned on through ``MonitorConfig.extra``."""

from seemrepro.engine.monitors.base import (
    MONITORS,
    Monitor,
    RunView,
    build_monitors,
    register_monitor,
)
from seemrepro.engine.monitors.churn import ChurnMonitor, held_out_set
from seemrepro.engine.monitors.dormant import DormantMonitor, dormant_fraction
from seemrepro.engine.monitors.evaluation import EvaluationMonitor
from seemrepro.engine.monitors.features import hidden_activations
from seemrepro.engine.monitors.norm_growth import NormGrowthMonitor
from seemrepro.engine.monitors.q_values import QMonitor, diverged
from seemrepro.engine.monitors.seem import SEEMMonitor
from seemrepro.engine.monitors.similarity import (
    SIMILARITY_METRICS,
    SnapshotMonitor,
    flat_parameters,
    similarity_rows,
)
from seemrepro.engine.monitors.srank import SRankMonitor, effective_rank
from seemrepro.engine.monitors.td_error import TDErrorMonitor

__all__ = ["MONITORS", "SIMILARITY_METRICS", "ChurnMonitor", "DormantMonitor",
           "EvaluationMonitor", "Monitor", "NormGrowthMonitor", "QMonitor", "RunView",
           "SEEMMonitor", "SRankMonitor", "SnapshotMonitor", "TDErrorMonitor", "build_monitors", "diverged",
           "dormant_fraction", "effective_rank", "flat_parameters", "held_out_set",
           "hidden_activations", "register_monitor", "similarity_rows"]
