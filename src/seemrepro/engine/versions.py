"""What a run's numbers depend on besides its config: the code version and the data.

* :func:`code_version` — ``engine<E>/<Agent class><v>…``: :data:`ENGINE_VERSION` covers the loop,
  the monitors and data preparation; each agent class carries its own ``version``. A change that
  alters any run's numbers must bump one of them; ``tests/test_versions.py`` enforces it by
  training every algorithm for a few steps and comparing against fingerprints recorded per
  version in ``tests/golden/numerics.json`` (``python -m seemrepro.engine.numerics --record``
  adds the current version's and refuses to overwrite a recorded one).
* :func:`data_fingerprint` — SHA-256 of the dataset's transitions (before the X% subset,
  which is keyed separately), so a dataset regenerated under the same id is new data.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from seemrepro.rl.agents import Agent, agent_class
from seemrepro.rl.buffers import TransitionBuffer

ENGINE_VERSION = 2  # 2: the SEEM monitor's X is drawn without replacement


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
