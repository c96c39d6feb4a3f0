"""The runnable examples run, briefly, and produce what they promise."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_td3bc_example_records_seem_for_both_critics() -> None:
    example = _load("corl_style_td3bc")
    monitor = example.main(steps=12, dataset="synthetic/600", every=5, samples=64)
    frame = monitor.frame()
    assert frame["step"].tolist() == [0, 0, 5, 5, 10, 10]
    assert frame["head"].tolist() == [0, 1] * 3
    assert all(math.isfinite(v) for v in frame["seem_normalized"])
    assert monitor.parameter_counts[0] == monitor.parameter_counts[1]


def test_td3bc_example_adds_the_monitor_in_a_few_marked_lines() -> None:
    text = (EXAMPLES / "corl_style_td3bc.py").read_text()
    assert 3 <= text.count("# --- SEEM monitor ---") <= 5
