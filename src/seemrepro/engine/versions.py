"""What a run's numbers depend on besides its config: the code version and the data.

* :func:`code_version` — ``engine<E>/<Agent class><v>…``: :data:`ENGINE_VERSION` covers the loop,
  the monitors and data preparation; each agent class carries its own ``version``. A change that
  alters any run's numbers must bump one of them; ``tests/test_versions.py`` enforces it by
  training every algorithm for a few steps and comparing against fingerprints recorded per
  version in ``tests/golden/numerics.json`` (``python -m seemrepro.engine.versions --record``
  adds the current version's and refuses to overwrite a recorded one).
* :func:`data_fingerprint` — SHA-256 of the dataset's transitions (before the X% subset,
  which is keyed separately), so a dataset regenerated under the same id is new data.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seemrepro.rl.agents import ALGORITHMS, Agent, agent_class
from seemrepro.rl.buffers import TransitionBuffer

ENGINE_VERSION = 1


def code_version(algorithm: str) -> str:
    """``engine1/TD3.1/Agent.1``: the engine's version and every agent class's in the MRO."""
    parts = [f"engine{ENGINE_VERSION}"]
    for cls in agent_class(algorithm).__mro__:
        if issubclass(cls, Agent) and "version" in vars(cls):
            parts.append(f"{cls.__name__}.{vars(cls)['version']}")
    return "/".join(parts)


def buffer_fingerprint(buffer: TransitionBuffer) -> str:
    """SHA-256 (16 hex digits) of a buffer's transitions: states, actions, rewards, next
    states, terminals and timeouts, as float32 bytes."""
    digest = hashlib.sha256()
    for tensor in (buffer.states, buffer.actions, buffer.rewards, buffer.next_states,
                   buffer.terminals, buffer.timeouts):
        digest.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=32)
def _fingerprint_of(dataset: str, stamp: tuple[Any, ...]) -> str:
    from seemrepro.datasets.resolve import resolve_dataset

    return buffer_fingerprint(resolve_dataset(dataset))


def _stamp(dataset: str) -> tuple[Any, ...]:
    """Changes when a local dataset's files change, so a regenerated dataset is hashed again."""
    from seemrepro.datasets.minari_io import find_dataset

    if dataset.startswith(("rollout/", "synthetic/")):
        return ()
    path = find_dataset(dataset)
    if path is None:
        return ()
    return (str(path), *sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                               for p in path.rglob("*") if p.is_file()))


def data_fingerprint(dataset: str) -> str:
    """The fingerprint of a run's dataset id; for ``online/<EnvId>`` the simulator versions."""
    if dataset.startswith("online/"):
        import gymnasium

        try:
            import mujoco

            physics = f"mujoco-{mujoco.__version__}"
        except ImportError:  # a non-MuJoCo environment
            physics = "no-mujoco"
        return f"{dataset}:gymnasium-{gymnasium.__version__}:{physics}"
    return _fingerprint_of(dataset, _stamp(dataset))


# -- the numeric fingerprints that make the versions enforceable ---------------------------------
NUMERICS_STEPS = 20


def numeric_fingerprint(algorithm: str) -> str:
    """SHA-256 of a tiny deterministic run's rows (values to 6 significant digits): training,
    monitors (Q, SEEM, snapshots) and data preparation, batched over two seeds."""
    from seemrepro.engine.config import MonitorConfig, RunConfig
    from seemrepro.engine.loop import train
    from seemrepro.runtime import using_threads

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
    from seemrepro.runtime import project_root

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
    parser = argparse.ArgumentParser(prog="python -m seemrepro.engine.versions",
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
