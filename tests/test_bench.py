"""Smoke check of ``python -m seemrepro.tools.bench --section seem --quick``: output format only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path


def test_bench_quick_output_format(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "seemrepro.tools.bench", "--section", "seem", "--quick",
                           "--repeats", "1", "--json", str(tmp_path / "bench.json")],
                          capture_output=True, text=True, check=True, timeout=300)
    out = done.stdout
    assert out.startswith("device: ")
    assert re.search(r"^library seem\(\) +time +[\d.]+ s .*peak RSS +[\d.]+ MiB", out, re.MULTILINE)
    assert re.search(r"^seem_reference\(\) +time +[\d.]+ s .*peak RSS +[\d.]+ MiB", out, re.MULTILINE)
    assert re.search(r"^library eigen path: (dense|mixed|dense-fallback); one call split "
                     r"\(untimed run\): NTK Gram matrix [\d.]+ s, rightmost eigenvalue [\d.]+ s$",
                     out, re.MULTILINE)
    match = re.search(r"\|raw diff\| / \|\|A\|\|_F = ([\d.e+-]+)", out)
    assert match and float(match.group(1)) < 1e-4
    assert re.search(r"^SUMMARY ratio=[\d.]+x .* rel_diff=[\d.e+-]+ .* (PASS|FAIL)$", out, re.MULTILINE)
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert set(saved) == {"seem"} and saved["seem"]["verdict"] in ("PASS", "FAIL")
