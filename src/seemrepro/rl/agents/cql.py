"""Conservative Q-learning for continuous actions, CQL(H) (Kumar et al., 2020).

SAC's update plus, for each critic, ``w·(logsumexp_a Q(s, a) − Q(s, a_data))`` where the
log-sum-exp is estimated by importance sampling from uniform actions and from the policy at
``s`` and ``s'`` (``n_actions`` each). Defaults follow the paper's MuJoCo settings: conservative
weight 5, 10 sampled actions, actor lr 1e-4, critic lr 3e-4, no Lagrangian threshold.

The sampled-action forward passes are nearly all of an update's arithmetic (30 critic passes per
state against one for the Bellman error). ``penalty_dtype="bfloat16"`` runs them under bfloat16
autocast (float32 accumulation, the log-sum-exp in float32); on a CPU with bfloat16 matrix
instructions that is several times faster per pass, and it rounds each sampled ``Q`` to about
three significant digits. On a CPU without them it is far slower (about 15× on an AMD Zen 2,
where bfloat16 matrix products are emulated). The default stays float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from seemrepro.rl.agents.base import batch_mean
from seemrepro.rl.agents.sac import SAC, SACConfig
from seemrepro.rl.buffers import Batch

PENALTY_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class CQLConfig(SACConfig):
    actor_lr: float = 1e-4
    temperature_lr: float = 1e-4
    conservative_weight: float = 5.0
    n_actions: int = 10
    penalty_dtype: str = "float32"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.penalty_dtype not in PENALTY_DTYPES:
            raise ValueError(f"penalty_dtype must be one of {', '.join(PENALTY_DTYPES)}, got "
                             f"{self.penalty_dtype!r}")
        if self.n_actions < 1:
            raise ValueError(f"n_actions must be at least 1, got {self.n_actions}")
        if self.conservative_weight < 0:
            raise ValueError("conservative_weight must be non-negative")


class CQL(SAC):
    config_class = CQLConfig
    version = 1
    config: CQLConfig

    def conservative_penalty(self, batch: Batch, q_values: list[torch.Tensor]) -> torch.Tensor:
        cfg = self.config
        n, m = cfg.n_actions, cfg.max_action
        with torch.no_grad():
            pi_actions, pi_log_prob = self.sample(batch.states, n)
            next_actions, next_log_prob = self.sample(batch.next_states, n)
            random_actions = (self.rand(pi_actions.shape[-3:]) * 2 - 1) * m
        random_log_density = -self.action_dim * math.log(2 * m)
        states = batch.states.unsqueeze(-3).expand(*pi_actions.shape[:-1], self.state_dim)
        inputs = torch.cat([torch.cat([states] * 3, dim=-3),
                            torch.cat([random_actions, pi_actions, next_actions], dim=-3)], dim=-1)
        log_density = torch.cat([torch.full_like(pi_log_prob, random_log_density), pi_log_prob,
                                 next_log_prob], dim=-2)
        penalty = torch.zeros((), device=self.device)
        for critic, q_data in zip(self.critics, q_values, strict=True):
            with torch.autocast(self.device.type, dtype=torch.bfloat16,
                                enabled=cfg.penalty_dtype == "bfloat16"):
                sampled_q = critic(inputs)
            penalty = penalty + batch_mean(
                torch.logsumexp(sampled_q.float() - log_density, dim=-2) - q_data)
        return cfg.conservative_weight * penalty
