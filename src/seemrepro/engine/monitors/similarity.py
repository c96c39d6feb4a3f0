"""Parameter snapshots, and each snapshot's similarity to the run's last one (T9)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from seemrepro.core.ntk import cosine, gram
from seemrepro.engine.config import Row
from seemrepro.engine.monitors.base import Monitor, RunView, register_monitor
from seemrepro.rl.buffers import Batch

SIMILARITY_METRICS = ("cos_critic_params", "cos_actor_params", "cos_actions", "cos_ntk")
Snapshots = dict[int, dict[str, torch.Tensor]]


def flat_parameters(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def similarity_rows(snapshots: Snapshots, critic: nn.Module, actor: nn.Module, x: Batch,
                    seed: int, ntk_samples: int = 256) -> list[Row]:
    """Each snapshot's cosine similarity to the last one (the reference checkpoint).

    ``critic`` and ``actor`` are modules of the run's architecture (copies are loaded with each
    snapshot); the policy's actions are compared on ``x``'s states, the NTK on its first
    ``ntk_samples`` (s, a) pairs.
    """
    if not snapshots:
        return []
    critic, actor = copy.deepcopy(critic), copy.deepcopy(actor)
    x_in = torch.cat([x.states, x.actions], dim=-1)[:ntk_samples]

    def views(snapshot: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        torch.nn.utils.vector_to_parameters(snapshot["critic"].to(x_in), critic.parameters())
        torch.nn.utils.vector_to_parameters(snapshot["actor"].to(x_in), actor.parameters())
        with torch.no_grad():
            actions = actor(x.states)
        return {"critic": snapshot["critic"], "actor": snapshot["actor"], "actions": actions,
                "ntk": gram(critic, x_in, dtype=torch.float64)}

    reference_step = max(snapshots)
    reference = views(snapshots[reference_step])
    rows: list[Row] = []
    for step in sorted(snapshots):
        current = reference if step == reference_step else views(snapshots[step])
        for metric, part in zip(SIMILARITY_METRICS, ("critic", "actor", "actions", "ntk"),
                                strict=True):
            rows.append((step, seed, metric, cosine(current[part], reference[part])))
        rows.append((step, seed, "similarity_reference_step", float(reference_step)))
    return rows


@register_monitor
class SnapshotMonitor(Monitor):
    """Keeps the actor's and critic's parameters every ``snapshot_every`` steps; when the run
    ends, adds each snapshot's cosine similarity to the last one for the critic's parameters,
    the actor's parameters, the policy's actions on X and the critic's NTK Gram matrix on the
    first 256 pairs of X (:func:`similarity_rows`). The reference is the final step, or the
    last snapshot before divergence."""

    name = "snapshot"
    order = 30

    def __init__(self, every: int) -> None:
        super().__init__(every)
        self.snapshots: Snapshots = {}

    def __call__(self, run: RunView, step: int) -> dict[str, float]:
        self.snapshots[step] = {"actor": flat_parameters(run.actor).cpu(),
                                "critic": flat_parameters(run.critic).cpu()}
        return {}

    def finish(self, run: RunView) -> list[Row]:
        return similarity_rows(self.snapshots, run.critic, run.actor, run.x, run.seed)

    def state_dict(self) -> dict[str, Any]:
        return {"snapshots": self.snapshots}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshots = state["snapshots"]
