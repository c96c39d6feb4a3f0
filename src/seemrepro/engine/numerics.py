"""Numeric fingerprints that make the code versions of :mod:`seemrepro.engine.versions`
enforceable: a tiny deterministic run per algorithm, hashed, recorded per code version in
``tests/golden/numerics.json``. ``python -m seemrepro.engine.numerics`` prints the current
versions and fingerprints; ``--record`` adds them and refuses to change a recorded one."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.engine.loop import train
from seemrepro.engine.versions import code_version
from seemrepro.rl.agents import ALGORITHMS
from seemrepro.runtime import project_root, using_threads

NUMERICS_STEPS = 20


def numeric_fingerprint(algorithm: str) -> str:
    """SHA-256 of a tiny deterministic run's rows (values to 6 significant digits): training,
    monitors (Q, SEEM, snapshots) and data preparation, batched over two seeds."""
    online = algorithm == "sac"
    config = RunConfig(
        algorithm, "online/Hopper-v5" if online else "synthetic/400", steps=NUMERICS_STEPS,
        batch_size=32, start_steps=10, subset=1.0 if online else 0.5,
        agent={"critic": {"hidden": [16, 16]}, "actor_hidden": [16, 16]},
        monitors=MonitorConfig(q_every=5, seem_every=10, seem_samples=64, snapshot_every=10))
    with using_threads(1):
        results = train(config, [0, 1], progress=False, device="cpu")
    rows = [(s, seed, m, f"{v:.6g}") for r in results for s, seed, m, v in r.rows]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def numerics_path() -> Path:
    return project_root() / "tests" / "golden" / "numerics.json"


def record_numerics(algorithms: Sequence[str] = tuple(ALGORITHMS)) -> dict[str, Any]:
    """Add the current versions' fingerprints; a recorded version must not change its numbers."""
    path = numerics_path()
    recorded: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    for algorithm in algorithms:
        version, fingerprint = code_version(algorithm), numeric_fingerprint(algorithm)
        known = recorded.setdefault(algorithm, {})
        if version in known and known[version] != fingerprint:
            raise SystemExit(
                f"{algorithm}: the numbers of {version} changed ({known[version]} -> "
                f"{fingerprint}); bump ENGINE_VERSION or the agent's version, then record again")
        known[version] = fingerprint
        print(f"{algorithm}: {version} {fingerprint}")
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    return recorded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seemrepro.engine.numerics",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true",
                        help="record the current versions' numeric fingerprints")
    args = parser.parse_args(argv)
    if args.record:
        record_numerics()
    else:
        for algorithm in ALGORITHMS:
            print(f"{algorithm}: {code_version(algorithm)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
