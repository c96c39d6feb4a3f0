"""Implicit Q-learning (Kostrikov et al., 2022).

A state-value network fitted by expectile regression to the target critics' minimum, critics
regressed on ``r + γ·V(s')``, and the policy extracted by advantage-weighted regression:
``exp(β·(Q − V))`` (clipped at 100) weighting ``‖π(s) − a‖²`` — a deterministic actor, i.e. a
fixed-variance Gaussian. Defaults follow the paper's MuJoCo settings (expectile 0.7, β = 3,
lr 3e-4, EMA 0.005); the actor's cosine learning-rate schedule is not used. The value network
has the critic's architecture (normalization included) on the state alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seemrepro.core.critics import build_critic
from seemrepro.rl.agents.base import Agent, AgentConfig, batch_mean
from seemrepro.rl.buffers import Batch
from seemrepro.rl.networks import DeterministicActor


@dataclass(frozen=True)
class IQLConfig(AgentConfig):
    expectile: float = 0.7
    beta: float = 3.0
    max_weight: float = 100.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.expectile < 1.0:
            raise ValueError(f"expectile must lie in (0, 1), got {self.expectile}")
        if self.beta < 0:
            raise ValueError(f"beta must be non-negative, got {self.beta}")


class IQL(Agent):
    config_class = IQLConfig
    version = 1
    member_scalars = ("gamma", "expectile", "beta")
    config: IQLConfig
    actor: nn.Module
    value: nn.Module

    def build(self) -> dict[str, nn.Module]:
        cfg = self.config
        actor = DeterministicActor(self.state_dim, self.action_dim, cfg.actor_hidden,
                                   cfg.max_action)
        return {"actor": actor, "critics": self.make_critics(),
                "value": build_critic(self.state_dim, cfg.critic)}

    def make_optimizers(self) -> None:
        self.actor_optimizer = self.adam(self.actor, self.config.actor_lr)
        self.value_optimizer = self.adam(self.value, self.config.critic_lr,
                                         self.config.critic_weight_decay)

    def update(self, batch: Batch) -> dict[str, float]:
        cfg = self.config
        with torch.no_grad():
            target_q = self.q_min(self.target_critics(), batch.states, batch.actions)
            target = batch.rewards + self.scalar("gamma") * (1.0 - batch.dones) * self.value(
                batch.next_states)
        advantage = target_q - self.value(batch.states)
        weight = (self.scalar("expectile") - (advantage.detach() < 0).to(advantage.dtype)).abs()
        value_loss = batch_mean(weight * advantage**2)
        self.step(self.value_optimizer, value_loss)

        q_values = self.q_values(self.critics, batch.states, batch.actions)
        critic_loss: torch.Tensor = sum(batch_mean((q - target) ** 2)  # type: ignore[assignment]
                                        for q in q_values)
        self.step(self.critic_optimizer, critic_loss)

        exp_advantage = torch.exp(self.scalar("beta") * advantage.detach()).clamp(max=cfg.max_weight)
        squared_error = ((self.actor(batch.states) - batch.actions) ** 2).sum(-1)
        actor_loss = batch_mean(exp_advantage * squared_error)
        self.step(self.actor_optimizer, actor_loss)
        self.updates += 1
        self.soft_update_targets()
        n = self.num_seeds
        return {"critic_loss": float(critic_loss.detach()) / n, "q_data": float(q_values[0].detach().mean()),
                "value_loss": float(value_loss.detach()) / n, "actor_loss": float(actor_loss.detach()) / n}
