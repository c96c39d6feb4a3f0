"""The d3rlpy side of the peer comparison; runs inside ``.venv-bench`` as a script.

It imports only the standard library, NumPy, torch and d3rlpy (never ``seemrepro``, whose
dependencies pin a newer gymnasium than d3rlpy 2.8.1 accepts), so it is started as
``.venv-bench/bin/python <path>/peer_worker.py <spec.json>``. The spec names a mode:

* ``train``: train one algorithm for one seed on the transitions of an ``.npz`` file, save the
  greedy policy as TorchScript (observation scaler included) and write ``result.json``;
* ``bench``: time ``fit`` for several algorithms and print one JSON line of update rates.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def load_episodes(path: str) -> list[Any]:
    """d3rlpy episodes that reproduce every transition of the file exactly.

    An episode that ends without termination (timeout, subset cut) gets its last next
    observation appended with a dummy action and reward: d3rlpy reads ``T + 1`` observations
    of an unterminated episode as ``T`` transitions, so none is lost.
    """
    from d3rlpy.dataset import Episode

    data = np.load(path)
    obs, next_obs = data["observations"], data["next_observations"]
    actions, rewards = data["actions"], data["rewards"].astype(np.float32)
    terminals, ends = data["terminals"].astype(bool), data["episode_ends"].astype(bool)
    episodes = []
    start = 0
    for end in (int(e) + 1 for e in np.flatnonzero(ends)):
        last = end - 1
        if terminals[last]:
            episodes.append(Episode(obs[start:end], actions[start:end],
                                    rewards[start:end, None], True))
        else:
            episodes.append(Episode(
                np.concatenate([obs[start:end], next_obs[last:end]]),
                np.concatenate([actions[start:end], np.zeros_like(actions[last:end])]),
                np.concatenate([rewards[start:end], np.zeros(1, np.float32)])[:, None], False))
        start = end
    return episodes


def make_algo(algorithm: str, options: dict[str, Any], hidden: list[int],
              normalize_states: bool) -> Any:
    import d3rlpy
    from d3rlpy.models.encoders import VectorEncoderFactory
    from d3rlpy.preprocessing import StandardObservationScaler

    configs = {"td3bc": d3rlpy.algos.TD3PlusBCConfig, "iql": d3rlpy.algos.IQLConfig,
               "cql": d3rlpy.algos.CQLConfig}
    encoders = {k: VectorEncoderFactory(hidden_units=list(hidden))
                for k in ("actor_encoder_factory", "critic_encoder_factory")}
    if algorithm == "iql":
        encoders["value_encoder_factory"] = VectorEncoderFactory(hidden_units=list(hidden))
    scaler = StandardObservationScaler() if normalize_states else None
    config = configs[algorithm](**options, **encoders, observation_scaler=scaler)
    return config.create(device="cpu:0")


def replay_buffer(episodes: list[Any]) -> Any:
    from d3rlpy.dataset import InfiniteBuffer, ReplayBuffer

    return ReplayBuffer(InfiniteBuffer(), episodes=episodes)


def fit(algo: Any, dataset: Any, steps: int) -> float:
    """Seconds of ``fit`` for ``steps`` updates with no logging, progress bar or evaluation."""
    from d3rlpy.logging import NoopAdapterFactory

    start = time.perf_counter()
    algo.fit(dataset, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=NoopAdapterFactory(), save_interval=10**9)
    return time.perf_counter() - start


def train(spec: dict[str, Any]) -> dict[str, Any]:
    import d3rlpy

    out = Path(spec["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    d3rlpy.seed(int(spec["seed"]))
    dataset = replay_buffer(load_episodes(spec["data"]))
    algo = make_algo(spec["algorithm"], spec["options"], spec["hidden"],
                     spec["normalize_states"])
    seconds = fit(algo, dataset, int(spec["steps"]))
    algo.save_policy(str(out / "policy.pt"))
    return {"seconds": seconds, "updates_per_second": int(spec["steps"]) / seconds,
            "transitions": int(dataset.transition_count), "episodes": len(dataset.episodes),
            "d3rlpy": d3rlpy.__version__, "torch": torch.__version__}


def bench(spec: dict[str, Any]) -> dict[str, Any]:
    """Update rate of ``fit`` per algorithm: a warm-up fit builds the model first, untimed."""
    import d3rlpy

    dataset = replay_buffer(load_episodes(spec["data"]))
    rates: dict[str, float] = {}
    for algorithm, steps in spec["steps"].items():
        d3rlpy.seed(0)
        algo = make_algo(algorithm, spec["options"][algorithm], spec["hidden"], True)
        fit(algo, dataset, int(spec["warmup"]))
        rates[algorithm] = int(steps) / fit(algo, dataset, int(steps))
    return {"rates": rates, "d3rlpy": d3rlpy.__version__, "torch": torch.__version__}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    torch.set_num_threads(int(spec.get("threads", 1)))
    result = train(spec) if spec["mode"] == "train" else bench(spec)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
