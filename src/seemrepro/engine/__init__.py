"""The training engine: run configs, the loop, its monitors, the run store and tidy results.

``train(RunConfig(...), seeds, store=RunStore())`` trains (or reads back) runs;
``load_frame(root, **filters)`` gives every stored run's metrics with its config as columns.
"""

from seemrepro.engine.config import MonitorConfig, Row, RunConfig, RunResult
from seemrepro.engine.loop import train
from seemrepro.engine.store import RunStore, load_frame

__all__ = ["MonitorConfig", "Row", "RunConfig", "RunResult", "RunStore", "load_frame", "train"]
