"""Numeric fingerprints that make the code versions of :mod:`seemrepro.engine.versions`
enforceable: a tiny deterministic run per algorithm, hashed, recorded per code version and
per numeric platform in ``tests/golden/numerics.json``. The platform matters because float32
results depend on the kernels torch picks for the CPU (AVX2 and AVX-512 round differently
in the last bits, which six significant digits can show). ``python -m
seemrepro.engine.numerics`` prints the current versions and platform; ``--record`` adds this
platform's fingerprints and refuses to change a recorded one."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from seemrepro.engine.config import MonitorConfig, RunConfig
from seemrepro.engine.loop import train
from seemrepro.engine.versions import code_version
from seemrepro.rl.agents import ALGORITHMS
from seemrepro.runtime import numeric_platform, project_root, using_threads

Fingerprints = dict[str, dict[str, dict[str, str]]]  # algorithm -> version -> platform -> hash

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


def recorded_numerics() -> Fingerprints:
    path = numerics_path()
    recorded: Fingerprints = json.loads(path.read_text()) if path.exists() else {}
    return recorded


def record_numerics(algorithms: Sequence[str] = tuple(ALGORITHMS)) -> Fingerprints:
    """Add this platform's fingerprints of the current versions; a version recorded on this
    platform must not change its numbers."""
    path, recorded, where = numerics_path(), recorded_numerics(), numeric_platform()
    for algorithm in algorithms:
        version, fingerprint = code_version(algorithm), numeric_fingerprint(algorithm)
        known = recorded.setdefault(algorithm, {}).setdefault(version, {})
        if where in known and known[where] != fingerprint:
            raise SystemExit(
                f"{algorithm}: the numbers of {version} on {where} changed ({known[where]} -> "
                f"{fingerprint}); bump ENGINE_VERSION or the agent's version, then record again")
        known[where] = fingerprint
        print(f"{algorithm}: {version} on {where}: {fingerprint}")
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
        print(f"platform: {numeric_platform()}")
        for algorithm in ALGORITHMS:
            print(f"{algorithm}: {code_version(algorithm)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
