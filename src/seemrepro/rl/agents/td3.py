"""TD3 with the switches the paper ablates, and TD3+BC.

* ``tau``: target EMA rate; ``tau = 1`` makes the target the current networks themselves
  (the paper's "without EMA" setting).
* ``double_q``: two critics and the minimum of their targets; off gives one critic (DDPG-style).
* ``policy_noise`` / ``noise_clip``: target policy smoothing; ``policy_delay``: actor update period.
* ``bc_alpha``: 0 gives plain TD3; α > 0 gives TD3+BC, whose actor loss is
  ``−λ·Q(s, π(s)) + (π(s) − a)²`` with ``λ = α / mean|Q|``.
* ``critic``: any critic architecture of :mod:`seemrepro.core.critics` (LayerNorm is one field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from seemrepro.rl.agents.base import Agent, AgentConfig, batch_mean, soft_update
from seemrepro.rl.buffers import Batch
from seemrepro.rl.networks import DeterministicActor

__all__ = ["TD3", "TD3Config", "soft_update"]


@dataclass(frozen=True)
class TD3Config(AgentConfig):
    double_q: bool = True
    policy_noise: float = 0.2
    noise_clip: float = 0.5
    policy_delay: int = 2
    bc_alpha: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.policy_delay < 1:
            raise ValueError(f"policy_delay must be at least 1, got {self.policy_delay}")
        if self.bc_alpha < 0:
            raise ValueError(f"bc_alpha must be non-negative, got {self.bc_alpha}")


class TD3(Agent):
    config_class = TD3Config
    version = 1
    target_networks = ("actor", "critics")
    member_scalars = ("gamma", "bc_alpha")
    config: TD3Config
    actor: nn.Module
    actor_target: nn.Module

    @classmethod
    def member_signature(cls, agent: dict[str, Any]) -> dict[str, Any]:
        # with and without behaviour cloning the actor losses differ: never one batch
        return {**super().member_signature(agent), "behaviour_cloning": agent["bc_alpha"] > 0}

    def build(self) -> dict[str, nn.Module]:
        cfg = self.config
        actor = DeterministicActor(self.state_dim, self.action_dim, cfg.actor_hidden,
                                   cfg.max_action)
        return {"actor": actor, "critics": self.make_critics(count=2 if cfg.double_q else 1)}

    def make_optimizers(self) -> None:
        self.actor_optimizer = self.adam(self.actor, self.config.actor_lr)

    def _targets(self) -> tuple[nn.Module, nn.ModuleList]:
        if self.config.tau >= 1.0:  # the target is the current network, gradient stopped
            return self.actor, self.critics
        return self.actor_target, self.critics_target

    def update(self, batch: Batch) -> dict[str, float]:
        cfg = self.config
        actor_target, critics_target = self._targets()
        with torch.no_grad():
            noise = (self.randn(batch.actions.shape[-2:]) * cfg.policy_noise).clamp(
                -cfg.noise_clip, cfg.noise_clip)
            next_actions = (actor_target(batch.next_states) + noise).clamp(
                -cfg.max_action, cfg.max_action)
            next_q = self.q_min(critics_target, batch.next_states, next_actions)
            target = batch.rewards + self.scalar("gamma") * (1.0 - batch.dones) * next_q
        q_values = self.q_values(self.critics, batch.states, batch.actions)
        critic_loss = sum(batch_mean((q - target) ** 2) for q in q_values)
        self.step(self.critic_optimizer, critic_loss)  # type: ignore[arg-type]
        metrics = {"critic_loss": float(critic_loss.detach()) / self.num_seeds,  # type: ignore[union-attr]
                   "q_data": float(q_values[0].detach().mean())}

        self.updates += 1
        if self.updates % cfg.policy_delay == 0:
            policy_actions = self.actor(batch.states)
            with self.frozen(self.critics):
                q_policy = self.critic(torch.cat([batch.states, policy_actions], dim=-1))
            if cfg.bc_alpha > 0:
                scale = q_policy.abs().mean(dim=-1, keepdim=True).detach().clamp_min(1e-6)
                bc = batch_mean((policy_actions - batch.actions) ** 2, dims=2)
                actor_loss = -batch_mean(self.scalar("bc_alpha") / scale * q_policy) + bc
                metrics["bc_loss"] = float(bc.detach()) / self.num_seeds
            else:
                actor_loss = -batch_mean(q_policy)
            self.step(self.actor_optimizer, actor_loss)
            metrics["actor_loss"] = float(actor_loss.detach()) / self.num_seeds
            self.soft_update_targets()
        return metrics
