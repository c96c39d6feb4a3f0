"""The runnable examples run, briefly, and produce what they promise."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

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


def _bench_python_with_pandas() -> Path | None:
    """``.venv-bench``'s interpreter when it can import seemrepro's monitor (pandas), else None."""
    from seemrepro.tools import peer

    python = peer.bench_venv() / "bin" / "python"
    if not python.exists():
        return None
    found = subprocess.run([str(python), "-c", "import pandas"], check=False,
                           capture_output=True)
    return python if found.returncode == 0 else None


def test_d3rlpy_example_adds_the_monitor_in_a_few_marked_lines() -> None:
    text = (EXAMPLES / "d3rlpy_callback.py").read_text()
    assert 3 <= text.count("# --- SEEM monitor ---") <= 5


def test_d3rlpy_example_records_seem_for_both_critics(tmp_path: Path) -> None:
    python = _bench_python_with_pandas()
    if python is None:
        pytest.skip("needs .venv-bench with d3rlpy and pandas (make bench-venv)")
    out = tmp_path / "rows.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": str(EXAMPLES.parent / "src")}
    done = subprocess.run([str(python), str(EXAMPLES / "d3rlpy_callback.py"), "--steps", "300",
                           "--every", "100", "--samples", "64", "--json", str(out)],
                          check=False, capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())
    assert [r["step"] for r in rows] == [0, 0, 100, 100, 200, 200, 300, 300]
    assert [r["head"] for r in rows] == [0, 1] * 4
    for key in ("seem", "seem_normalized", "frobenius", "eigenvalue_real"):
        assert all(math.isfinite(r[key]) for r in rows), key
    assert all(r["frobenius"] > 0 for r in rows)
    # two separately initialized critics: identical values would mean one was read twice
    assert rows[0]["seem"] != rows[1]["seem"]
