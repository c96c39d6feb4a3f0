"""d3rlpy's TD3+BC with the SEEM divergence monitor in its ``fit`` callback (the
``# --- SEEM monitor ---`` lines are all it takes).

d3rlpy 2.8.1 calls ``callback(algo, epoch, total_step)`` after every update. Its twin critics
are ``algo.impl.q_function`` (an ``nn.ModuleList``) whose members return a ``QFunctionOutput``,
so a three-line adapter hands the monitor their ``q_value``; the policy's deterministic action
is ``algo.impl.policy(s).squashed_mu``.

Run, in an environment with d3rlpy and seemrepro (here the project's ``.venv-bench`` with
``src`` on the path)::

    PYTHONPATH=src .venv-bench/bin/python examples/d3rlpy_callback.py --steps 2000

The default data are ``synthetic/2000`` rows read as one stream of transitions: enough to show
the plumbing, not a task worth learning.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import d3rlpy
import numpy as np
import torch
from d3rlpy.logging import NoopAdapterFactory
from torch import nn

from seemrepro import SEEMMonitor  # --- SEEM monitor ---
from seemrepro.datasets.resolve import resolve_dataset

if TYPE_CHECKING:
    import pandas as pd


class QValue(nn.Module):
    """One d3rlpy Q function as ``Q(s, a) -> (N, 1)``."""

    def __init__(self, q_function: nn.Module) -> None:
        super().__init__()
        self.q_function = q_function

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.q_function(states, actions).q_value


def build_dataset(dataset: str) -> d3rlpy.dataset.MDPDataset:
    """A d3rlpy dataset of the rows of any :func:`seemrepro.datasets.resolve_dataset` id,
    states standardized here (so the algorithm needs no observation scaler)."""
    data = resolve_dataset(dataset)
    states = data.states.numpy()
    states = (states - states.mean(0)) / (states.std(0) + 1e-3)
    timeouts = data.timeouts.numpy().copy()
    timeouts[-1] = 1.0 - data.terminals[-1].item()  # the stream ends somewhere
    return d3rlpy.dataset.MDPDataset(
        observations=states.astype(np.float32), actions=data.actions.numpy(),
        rewards=data.rewards.numpy().astype(np.float32), terminals=data.terminals.numpy(),
        timeouts=timeouts)


def transitions(dataset: d3rlpy.dataset.MDPDataset) -> tuple[torch.Tensor, ...]:
    """(s, a, s') of every step inside an episode, as the monitor's candidate set."""
    parts = [(e.observations[:-1], e.actions[:-1], e.observations[1:])
             for e in dataset.episodes if len(e.observations) > 1]
    return tuple(torch.as_tensor(np.concatenate(column)) for column in zip(*parts, strict=True))


def main(steps: int = 2000, every: int = 200, samples: int = 256,
         dataset: str = "synthetic/2000", seed: int = 0) -> pd.DataFrame:
    d3rlpy.seed(seed)
    data = build_dataset(dataset)
    algo = d3rlpy.algos.TD3PlusBCConfig(alpha=2.5, batch_size=256).create(device="cpu:0")
    algo.build_with_dataset(data)  # the networks must exist before the monitor reads them
    assert algo.impl is not None

    # --- SEEM monitor ---
    states, actions, next_states = transitions(data)
    monitor = SEEMMonitor([QValue(q) for q in algo.impl.q_function], states, actions,
                          next_states, lambda s: algo.impl.policy(s).squashed_mu,
                          gamma=algo.config.gamma, samples=samples, every=every, seed=seed,
                          critic_inputs="state_action", critic_shape="twin")
    monitor(0)  # the fresh critics: the early-warning rule's baseline

    def callback(algo: Any, epoch: int, total_step: int) -> None:
        # --- SEEM monitor ---
        for row in monitor(total_step):
            print(f"step {row.step:6d}  Q{row.head + 1}  SEEM {row.seem:+.3e}  "
                  f"normalized {row.seem_normalized:+.3f}")
        if monitor.warned_at == total_step:
            print("early warning: the normalized SEEM surged")

    algo.fit(data, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=NoopAdapterFactory(), save_interval=steps + 1,
             callback=callback)  # --- SEEM monitor ---
    return monitor.frame()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--dataset", default="synthetic/2000")
    parser.add_argument("--json", help="also write the SEEM rows to this file as JSON records")
    args = parser.parse_args()
    frame = main(args.steps, args.every, args.samples, args.dataset)
    print(frame.to_string(index=False))
    if args.json:
        frame.to_json(args.json, orient="records")
