"""TD3 with the switches the paper ablates, and TD3+BC.

* ``tau``: target EMA rate; ``tau = 1`` makes the target the current networks themselves
  (the paper's "without EMA" setting).
* ``double_q``: two critics and the minimum of their targets; off gives one critic (DDPG-style).
* ``policy_noise`` / ``noise_clip``: target policy smoothing; ``policy_delay``: actor update period.
* ``bc_alpha``: 0 gives plain TD3; α > 0 gives TD3+BC, whose actor loss is
  ``−λ·Q(s, π(s)) + (π(s) − a)²`` with ``λ = α / mean|Q|``.
* ``critic``: any critic architecture of :mod:`seemrepro.critics` (LayerNorm is one field).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from seemrepro.agents.networks import DeterministicActor
from seemrepro.buffer import Batch
from seemrepro.critics import CriticConfig, MLPCritic, build_critic


@dataclass(frozen=True)
class TD3Config:
    actor_hidden: tuple[int, ...] = (256, 256)
    critic: CriticConfig = field(default_factory=CriticConfig)
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    critic_weight_decay: float = 0.0
    gamma: float = 0.99
    tau: float = 0.005
    double_q: bool = True
    policy_noise: float = 0.2
    noise_clip: float = 0.5
    policy_delay: int = 2
    bc_alpha: float = 0.0
    max_action: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"discount gamma must lie in [0, 1), got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must lie in (0, 1], got {self.tau}")
        if self.policy_delay < 1:
            raise ValueError(f"policy_delay must be at least 1, got {self.policy_delay}")
        if self.bc_alpha < 0:
            raise ValueError(f"bc_alpha must be non-negative, got {self.bc_alpha}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TD3:
    def __init__(self, state_dim: int, action_dim: int, config: TD3Config | None = None, *,
                 seed: int = 0, device: torch.device | str = "cpu") -> None:
        self.config = config or TD3Config()
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.actor = DeterministicActor(state_dim, action_dim, self.config.actor_hidden,
                                            self.config.max_action).to(self.device)
            count = 2 if self.config.double_q else 1
            self.critics = nn.ModuleList(
                build_critic(state_dim + action_dim, self.config.critic, device=self.device)
                for _ in range(count)
            )
        self.actor_target = copy.deepcopy(self.actor)
        self.critics_target = copy.deepcopy(self.critics)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=self.config.actor_lr)
        self.critic_optimizer = torch.optim.Adam(
            self.critics.parameters(), lr=self.config.critic_lr,
            weight_decay=self.config.critic_weight_decay,
        )
        self.updates = 0

    @property
    def critic(self) -> MLPCritic:
        """The first critic head: the one whose SEEM the monitors track."""
        return self.critics[0]  # type: ignore[return-value]

    def act(self, states: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.actor(states.to(self.device))

    def _targets(self) -> tuple[nn.Module, nn.ModuleList]:
        if self.config.tau >= 1.0:  # the target is the current network, gradient stopped
            return self.actor, self.critics
        return self.actor_target, self.critics_target

    def update(self, batch: Batch) -> dict[str, float]:
        cfg = self.config
        actor_target, critics_target = self._targets()
        with torch.no_grad():
            noise = torch.randn(batch.actions.shape, generator=self.generator,
                                device=self.device) * cfg.policy_noise
            noise = noise.clamp(-cfg.noise_clip, cfg.noise_clip)
            next_actions = (actor_target(batch.next_states) + noise).clamp(
                -cfg.max_action, cfg.max_action)
            next_inputs = torch.cat([batch.next_states, next_actions], dim=1)
            next_q = torch.stack([c(next_inputs) for c in critics_target]).min(dim=0).values
            target = batch.rewards + cfg.gamma * (1.0 - batch.dones) * next_q
        inputs = torch.cat([batch.states, batch.actions], dim=1)
        q_values = [c(inputs) for c in self.critics]
        critic_loss = sum(((q - target) ** 2).mean() for q in q_values)
        self.critic_optimizer.zero_grad(set_to_none=True)
        critic_loss.backward()  # type: ignore[union-attr]
        self.critic_optimizer.step()
        metrics = {"critic_loss": float(critic_loss.detach()),  # type: ignore[union-attr]
                   "q_data": float(q_values[0].detach().mean())}

        self.updates += 1
        if self.updates % cfg.policy_delay == 0:
            policy_actions = self.actor(batch.states)
            q_policy = self.critic(torch.cat([batch.states, policy_actions], dim=1))
            if cfg.bc_alpha > 0:
                weight = cfg.bc_alpha / q_policy.abs().mean().detach().clamp_min(1e-6)
                bc = ((policy_actions - batch.actions) ** 2).mean()
                actor_loss = -weight * q_policy.mean() + bc
                metrics["bc_loss"] = float(bc.detach())
            else:
                actor_loss = -q_policy.mean()
            self.actor_optimizer.zero_grad(set_to_none=True)
            actor_loss.backward()
            self.actor_optimizer.step()
            metrics["actor_loss"] = float(actor_loss.detach())
            if cfg.tau < 1.0:
                soft_update(self.actor_target, self.actor, cfg.tau)
                soft_update(self.critics_target, self.critics, cfg.tau)
        return metrics

    def state_dict(self) -> dict[str, Any]:
        """A deep copy: optimizer states would otherwise share tensors with this agent."""
        return copy.deepcopy({
            "actor": self.actor.state_dict(), "critics": self.critics.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critics_target": self.critics_target.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "updates": self.updates, "generator": self.generator.get_state(),
        })

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critics.load_state_dict(state["critics"])
        self.actor_target.load_state_dict(state["actor_target"])
        self.critics_target.load_state_dict(state["critics_target"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.updates = int(state["updates"])
        self.generator.set_state(state["generator"])


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target ← (1 − τ)·target + τ·source`` for parameters; buffers are copied."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)
        for tb, sb in zip(target.buffers(), source.buffers(), strict=True):
            tb.copy_(sb)
