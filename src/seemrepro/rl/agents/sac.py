"""Soft actor-critic (online), with the target EMA switch of Sec. 5.3 (``tau = 1``: no EMA).

Twin critics with the shared critic architecture (so LayerNorm is one field), a tanh-Gaussian
actor and an automatically tuned entropy temperature with target entropy ``−|A|``.
:class:`~seemrepro.rl.agents.cql.CQL` reuses this update and adds its conservative penalty.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from seemrepro.rl.agents.base import Agent, AgentConfig, Temperature, batch_mean
from seemrepro.rl.buffers import Batch
from seemrepro.rl.networks import TanhGaussianActor


@dataclass(frozen=True)
class SACConfig(AgentConfig):
    temperature_lr: float = 3e-4
    initial_temperature: float = 1.0
    target_entropy: float | None = None  # None: −action_dim

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.initial_temperature <= 0:
            raise ValueError(f"initial_temperature must be positive, got "
                             f"{self.initial_temperature}")


class SAC(Agent):
    config_class = SACConfig
    version = 1
    config: SACConfig
    actor: nn.Module
    temperature: nn.Module

    def build(self) -> dict[str, nn.Module]:
        cfg = self.config
        actor = TanhGaussianActor(self.state_dim, self.action_dim, cfg.actor_hidden,
                                  cfg.max_action)
        return {"actor": actor, "critics": self.make_critics(),
                "temperature": Temperature(cfg.initial_temperature)}

    def make_optimizers(self) -> None:
        self.actor_optimizer = self.adam(self.actor, self.config.actor_lr)
        self.temperature_optimizer = self.adam(self.temperature, self.config.temperature_lr)

    @property
    def target_entropy(self) -> float:
        t = self.config.target_entropy
        return -float(self.action_dim) if t is None else t

    def sample(self, states: torch.Tensor, count: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy samples and log-densities; ``count`` adds a leading samples dimension."""
        shape = (*states.shape[-2:-1], self.action_dim)
        if count is not None:
            shape = (count, *shape)
        return self.actor(states, self.randn(shape))  # type: ignore[no-any-return]

    def conservative_penalty(self, batch: Batch, q_values: list[torch.Tensor]) -> torch.Tensor | None:
        """An extra critic loss (CQL's); none for SAC."""
        return None

    def update(self, batch: Batch) -> dict[str, float]:
        with torch.no_grad():
            alpha = self.temperature(batch.rewards).exp()
            next_actions, next_log_prob = self.sample(batch.next_states)
            next_q = self.q_min(self.target_critics(), batch.next_states, next_actions)
            target = batch.rewards + self.scalar("gamma") * (1.0 - batch.dones) * (
                next_q - alpha * next_log_prob)
        q_values = self.q_values(self.critics, batch.states, batch.actions)
        critic_loss: torch.Tensor = sum(batch_mean((q - target) ** 2)  # type: ignore[assignment]
                                        for q in q_values)
        metrics = {"q_data": float(q_values[0].detach().mean())}
        penalty = self.conservative_penalty(batch, q_values)
        if penalty is not None:
            critic_loss = critic_loss + penalty
            metrics["conservative_loss"] = float(penalty.detach()) / self.num_seeds
        self.step(self.critic_optimizer, critic_loss)
        metrics["critic_loss"] = float(critic_loss.detach()) / self.num_seeds

        actions, log_prob = self.sample(batch.states)
        with self.frozen(self.critics):
            q_policy = self.q_min(self.critics, batch.states, actions)
        actor_loss = batch_mean(alpha * log_prob - q_policy)
        self.step(self.actor_optimizer, actor_loss)
        log_alpha = self.temperature(log_prob)
        temperature_loss = -batch_mean(log_alpha * (log_prob.detach() + self.target_entropy))
        self.step(self.temperature_optimizer, temperature_loss)
        self.updates += 1
        self.soft_update_targets()
        metrics.update(actor_loss=float(actor_loss.detach()) / self.num_seeds,
                       alpha=float(alpha.mean()), entropy=-float(log_prob.detach().mean()))
        return metrics
