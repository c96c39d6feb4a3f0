"""Diffusion-QL (Wang, Hunt & Zhou, ICLR 2023) as the SEEM paper uses it (Sec. 5.1, App. F).

**The policy** is a conditional diffusion model over actions with ``T`` denoising steps and a
variance-preserving (VP) schedule, Diffusion-QL's ``vp_beta_schedule``:

.. math::

   \\alpha_t = \\exp\\Big(-\\frac{\\beta_{\\min}}{T}
               - \\frac{\\beta_{\\max}-\\beta_{\\min}}{2}\\,\\frac{2t-1}{T^2}\\Big),\\quad
   \\beta_t = 1-\\alpha_t,\\quad \\bar\\alpha_t = \\prod_{k\\le t}\\alpha_k,\\quad
   t = 1..T,\\ \\beta_{\\min}=0.1,\\ \\beta_{\\max}=10.

A noise model ``ε_θ(a_t, t, s)`` (an MLP on ``[s, a_t, e(t)]``, ``e`` a sinusoidal embedding
passed through a small MLP) is trained by denoising (behaviour cloning):
``a_t = √ᾱ_t·a + √(1−ᾱ_t)·ε``, ``L_BC = mean ‖ε − ε_θ(a_t, t, s)‖²`` with ``t`` uniform.
An action is drawn by the reverse chain from ``a_T ~ N(0, I)``:
``â_0 = clip((a_t − √(1−ᾱ_t)·ε_θ)/√ᾱ_t, ±max_action)``, ``a_{t−1} = c₁(t)·â_0 + c₂(t)·a_t
+ σ_t·z`` (the posterior mean and standard deviation of ``q(a_{t−1} | a_t, a_0)``; no noise at the
last step), and the result is clipped to ``[−max_action, max_action]``.

**The losses.** Two critics regress ``r + γ(1−d)·min_k Q̄_k(s', a')`` with ``a'`` drawn from the
target (EMA) policy; with ``max_q_backup`` ``max_q_samples`` actions are drawn per ``s'`` and the
target is ``min_k max_j Q̄_k(s', a'_j)`` (both codes take each critic's maximum, then the minimum).
The actor minimizes ``bc_weight·L_BC − η·Q_k(s, π(s)) / mean_B|Q_k(s, π(s))|``, the normalizer
detached (floored at 1e-6), ``k ∈ {1, 2}`` drawn with probability ½ every update and seed (as in
both codes; SEEM's normalizes by the same critic, which we follow, Diffusion-QL's by the other).
The critics are updated first and the actor sees the updated critics (both codes).

**Defaults and where they come from** (SEEM's code: ``diff-QL/`` of yueyang130/SEEM, an EDP
implementation; Diffusion-QL's: its official repository):

* ``denoise_steps = 5`` with the VP schedule: Diffusion-QL's ``T = 5`` on D4RL locomotion and
  AntMaze. SEEM's code trains with 100 timesteps (DDPM sampling) or 1000 (DPM-Solver, 15 steps;
  its launch script's default) on a linear schedule; we keep Diffusion-QL's 5 because every
  update runs the chain twice (target and actor) on CPU. ``denoise_steps`` may be raised.
* ``eta = 2.0``: SEEM's ``alpha = 2`` (``dql.py``, ``launch_job.sh``). Diffusion-QL's own
  ``η`` is 1.0 on locomotion and 0.5–4.5 on AntMaze.
* ``bc_weight = 1.0``: SEEM's ``diff_coef`` (``hps.py``: 1.0 on locomotion, 10 on
  hopper-medium-expert, 0.5 on all six AntMaze datasets); it is the "BC weight" Fig. 7 varies
  from 0.5 to 10. Diffusion-QL fixes it at 1.
* ``q_action = "chain"``: ``π(s)`` in the Q term is the full reverse chain, differentiated
  through every step (Diffusion-QL). ``"predicted_start"`` is EDP's action approximation that
  SEEM's code uses (``use_pred_astart = True``): ``â_0`` from the BC term's noised data action,
  with no chain in the actor loss (much cheaper).
* ``max_q_backup = False``, ``max_q_samples = 10``: SEEM's AntMaze runs turn it on
  (``MAX_Q_BACKUP=True``, 10 samples, top-1), as Diffusion-QL does on AntMaze.
* ``tau = 0.005`` for the critics every update; the target policy is lerped with the same
  ``tau`` every ``actor_ema_every = 5`` updates from update ``actor_ema_start = 1000`` on and stays
  at its initialization before that (Diffusion-QL: ``ema_decay = 0.995``,
  ``update_ema_every = 5``, ``step_start_ema = 1000``; SEEM: ``policy_tgt_freq = 5`` after 1000
  steps, with ``tau``). ``tau = 1`` makes both targets the current networks ("no EMA").
* ``actor_hidden = (256, 256, 256)`` with Mish, ``time_embed_dim = 16`` (sinusoidal → Linear
  to 32 → Mish → Linear to 16): both codes. The critics are the package's ReLU MLPs (so
  ``critic.norm = layernorm`` is one field) with SEEM's ``qf_arch`` 256-256-256 (SEEM's code uses
  Mish in its critics); a ``critic`` dict of options is applied over this default.
* ``actor_lr = critic_lr = 3e-4``, Adam, no weight decay: both codes. Their cosine learning-rate
  decay over 1M steps is not used.
* ``grad_norm = 0`` (off): SEEM's code clips every network's gradient norm at a per-dataset
  value (``hps.py``: ``gn`` from 1 to 10); ``grad_norm > 0`` does so per network and per seed.

**The policy as the monitors see it** (``agent.actor_of(i)``, ``agent.act``): called without
noise, the actor runs the reverse chain on noise from a generator seeded afresh on every call
with its own ``sample_seed`` (drawn from the agent's seed when it is built), so it is a
deterministic function of its input batch. Diffusion-QL's evaluation, which picks one of 50
samples by Q, is not reproduced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seemrepro.core.critics import CriticConfig
from seemrepro.rl.agents.base import Agent, AgentConfig, batch_mean
from seemrepro.rl.buffers import Batch
from seemrepro.rl.networks import mlp
from seemrepro.rl.stacked import PlainNamedStack, StackedLinear, StackedSequential

__all__ = ["DiffQL", "DiffQLConfig", "DiffusionActor", "StackedDiffusionActor", "VPSchedule",
           "sinusoidal_embedding"]

Q_ACTIONS = ("chain", "predicted_start")


def _default_critic() -> CriticConfig:
    return CriticConfig(hidden=(256, 256, 256))


@dataclass(frozen=True)
class DiffQLConfig(AgentConfig):
    actor_hidden: tuple[int, ...] = (256, 256, 256)
    critic: CriticConfig = field(default_factory=_default_critic)
    eta: float = 2.0
    bc_weight: float = 1.0
    denoise_steps: int = 5
    time_embed_dim: int = 16
    q_action: str = "chain"
    max_q_backup: bool = False
    max_q_samples: int = 10
    actor_ema_every: int = 5
    actor_ema_start: int = 1000
    grad_norm: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eta < 0:
            raise ValueError(f"eta must be non-negative, got {self.eta}")
        if self.bc_weight < 0:
            raise ValueError(f"bc_weight must be non-negative, got {self.bc_weight}")
        if self.denoise_steps < 1:
            raise ValueError(f"denoise_steps must be at least 1, got {self.denoise_steps}")
        if self.time_embed_dim < 2 or self.time_embed_dim % 2:
            raise ValueError(f"time_embed_dim must be an even number >= 2, got "
                             f"{self.time_embed_dim}")
        if self.q_action not in Q_ACTIONS:
            raise ValueError(f"q_action must be one of {', '.join(Q_ACTIONS)}, got "
                             f"{self.q_action!r}")
        if self.max_q_samples < 1:
            raise ValueError(f"max_q_samples must be at least 1, got {self.max_q_samples}")
        if self.actor_ema_every < 1:
            raise ValueError(f"actor_ema_every must be at least 1, got {self.actor_ema_every}")
        if self.actor_ema_start < 0:
            raise ValueError(f"actor_ema_start must be non-negative, got {self.actor_ema_start}")
        if self.grad_norm < 0:
            raise ValueError(f"grad_norm must be non-negative (0: no clipping), got "
                             f"{self.grad_norm}")
        if self.max_action <= 0:
            raise ValueError(f"max_action must be positive, got {self.max_action}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiffQLConfig:
        """As :meth:`AgentConfig.from_dict`, but a ``critic`` dict is applied over this agent's
        default critic (256-256-256), so ``critic.norm=layernorm`` keeps its three layers."""
        values = dict(data)
        if isinstance(values.get("critic"), dict):
            values["critic"] = {**_default_critic().to_dict(), **values["critic"]}
        return super().from_dict(values)


# -- the diffusion schedule ----------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class VPSchedule:
    """Diffusion-QL's variance-preserving schedule for ``steps`` steps, in float64; index ``i``
    is the paper's ``t = i + 1``."""

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    posterior_mean_coef1: torch.Tensor
    posterior_mean_coef2: torch.Tensor
    posterior_std: torch.Tensor

    @classmethod
    def build(cls, steps: int, beta_min: float = 0.1, beta_max: float = 10.0) -> VPSchedule:
        if steps < 1:
            raise ValueError(f"need at least one diffusion step, got {steps}")
        t = torch.arange(1, steps + 1, dtype=torch.float64)
        alphas = torch.exp(-beta_min / steps - 0.5 * (beta_max - beta_min) * (2 * t - 1)
                           / steps**2)
        betas = 1.0 - alphas
        cumprod = torch.cumprod(alphas, 0)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), cumprod[:-1]])
        return cls(betas=betas, alphas_cumprod=cumprod, alphas_cumprod_prev=prev,
                   posterior_mean_coef1=betas * prev.sqrt() / (1 - cumprod),
                   posterior_mean_coef2=(1 - prev) * alphas.sqrt() / (1 - cumprod),
                   posterior_std=(betas * (1 - prev) / (1 - cumprod)).sqrt())

    @property
    def steps(self) -> int:
        return int(self.betas.numel())


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """``[cos(t·f_k), sin(t·f_k)]`` with ``f_k = max_period^(−k/(dim/2))``, ``k < dim/2``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float64) / half)
    args = t.to(torch.float64).unsqueeze(-1) * freqs
    return torch.cat([args.cos(), args.sin()], dim=-1).float()


def _stack_mlp(members: Sequence[nn.Sequential]) -> StackedSequential:
    """Stacked copies of a Linear/Mish stack (layer indices, so parameter names, kept)."""
    layers: list[nn.Module] = []
    for i, layer in enumerate(members[0]):
        if isinstance(layer, nn.Linear):
            layers.append(StackedLinear([m[i] for m in members]))  # type: ignore[misc]
        elif isinstance(layer, nn.Mish):
            layers.append(nn.Mish())
        else:
            raise TypeError(f"cannot stack {type(layer).__name__}")
    return StackedSequential(*layers)


# -- the policy ----------------------------------------------------------------------------------
class _DiffusionHead(nn.Module):
    """What plain and stacked diffusion actors share: the schedule, the forward process, the
    reverse chain. Subclasses say how states, noises and time features are laid out."""

    steps: int
    action_dim: int
    max_action: float
    time_table: torch.Tensor
    sqrt_alphas_cumprod: torch.Tensor
    sqrt_one_minus_alphas_cumprod: torch.Tensor
    sqrt_recip_alphas_cumprod: torch.Tensor
    sqrt_recipm1_alphas_cumprod: torch.Tensor
    # the step dimension of a chain's noise: (T, ..., A) plain, (N, T, ..., A) stacked
    step_dim: int = 0

    def _set_schedule(self, steps: int, action_dim: int, max_action: float, time_dim: int
                      ) -> None:
        schedule = VPSchedule.build(steps)
        self.steps, self.action_dim, self.max_action = steps, action_dim, max_action
        self.time_dim = time_dim
        ac = schedule.alphas_cumprod
        tensors = {"time_table": sinusoidal_embedding(torch.arange(steps), time_dim),
                   "sqrt_alphas_cumprod": ac.sqrt(), "sqrt_one_minus_alphas_cumprod": (1 - ac).sqrt(),
                   "sqrt_recip_alphas_cumprod": (1 / ac).sqrt(),
                   "sqrt_recipm1_alphas_cumprod": (1 / ac - 1).sqrt()}
        for name, value in tensors.items():  # derived from the config: not saved
            self.register_buffer(name, value.float(), persistent=False)
        # per-step coefficients of the reverse chain, as Python numbers
        self._chain = [(float(ac[i].rsqrt()), float((1 / ac[i] - 1).sqrt()),
                        float(schedule.posterior_mean_coef1[i]),
                        float(schedule.posterior_mean_coef2[i]), float(schedule.posterior_std[i]))
                       for i in range(steps)]

    # layout hooks
    def time_features(self) -> torch.Tensor:
        """The time embedding of every step, ``(T, E)`` (stacked: ``(N, T, E)``)."""
        raise NotImplementedError

    def step_features(self, features: torch.Tensor, step: int, like: torch.Tensor) -> torch.Tensor:
        """Step ``step``'s features broadcast over ``like``'s rows."""
        raise NotImplementedError

    def gather_features(self, features: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Per-row step indices ``t`` -> their features."""
        raise NotImplementedError

    def epsilon(self, states: torch.Tensor, noisy: torch.Tensor, features: torch.Tensor
                ) -> torch.Tensor:
        """The predicted noise ``ε_θ(a_t, t, s)``."""
        raise NotImplementedError

    def draw_noise(self, states: torch.Tensor) -> torch.Tensor:
        """A chain's noise from the actor's own ``sample_seed`` (the same on every call)."""
        raise NotImplementedError

    # shared maths
    def noised(self, actions: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
               ) -> torch.Tensor:
        """``a_t = √ᾱ_t·a + √(1−ᾱ_t)·ε`` for per-row step indices ``t``."""
        return (self.sqrt_alphas_cumprod[t].unsqueeze(-1) * actions
                + self.sqrt_one_minus_alphas_cumprod[t].unsqueeze(-1) * noise)

    def predicted_start(self, noisy: torch.Tensor, t: torch.Tensor, eps: torch.Tensor
                        ) -> torch.Tensor:
        """``â_0 = clip((a_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t, ±max_action)`` (EDP's action approximation)."""
        start = (self.sqrt_recip_alphas_cumprod[t].unsqueeze(-1) * noisy
                 - self.sqrt_recipm1_alphas_cumprod[t].unsqueeze(-1) * eps)
        return start.clamp(-self.max_action, self.max_action)

    def forward(self, states: torch.Tensor, noise: torch.Tensor | None = None,
                features: torch.Tensor | None = None) -> torch.Tensor:
        """Actions by the reverse chain. ``noise`` holds ``T`` standard-normal slices along
        :attr:`step_dim`: the start ``a_T`` then one per step but the last; without it the
        actor's own seeded noise is used. ``features``: :meth:`time_features`, if at hand."""
        if noise is None:
            noise = self.draw_noise(states)
        if features is None:
            features = self.time_features()
        slices = noise.unbind(self.step_dim)
        if len(slices) != self.steps:
            raise ValueError(f"expected {self.steps} noise slices along dim {self.step_dim}, "
                             f"got {len(slices)}")
        m = self.max_action
        x = slices[0]
        for k, t in enumerate(reversed(range(self.steps))):
            recip, recipm1, coef1, coef2, std = self._chain[t]
            eps = self.epsilon(states, x, self.step_features(features, t, x))
            start = (recip * x - recipm1 * eps).clamp(-m, m)
            x = coef1 * start + coef2 * x
            if t > 0:
                x = x + std * slices[k + 1]
        return x.clamp(-m, m)


class DiffusionActor(_DiffusionHead):
    """A diffusion policy for one seed; states ``(..., S)`` to actions ``(..., A)``."""

    def __init__(self, state_dim: int, action_dim: int, hidden: Sequence[int] = (256, 256, 256),
                 max_action: float = 1.0, steps: int = 5, time_dim: int = 16) -> None:
        super().__init__()
        self.time_net = nn.Sequential(nn.Linear(time_dim, 2 * time_dim), nn.Mish(),
                                      nn.Linear(2 * time_dim, time_dim))
        self.net = mlp(state_dim + action_dim + time_dim, hidden, action_dim, activation=nn.Mish)
        self.sample_seed: torch.Tensor
        # drawn from the RNG the agent seeds for this member's networks
        self.register_buffer("sample_seed", torch.randint(0, 2**62, ()))
        self._set_schedule(steps, action_dim, max_action, time_dim)

    def time_features(self) -> torch.Tensor:
        return self.time_net(self.time_table)

    def step_features(self, features: torch.Tensor, step: int, like: torch.Tensor) -> torch.Tensor:
        return features[step].expand(*like.shape[:-1], features.shape[-1])

    def gather_features(self, features: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return features[t]

    def epsilon(self, states: torch.Tensor, noisy: torch.Tensor, features: torch.Tensor
                ) -> torch.Tensor:
        return self.net(torch.cat([states, noisy, features], dim=-1))

    def draw_noise(self, states: torch.Tensor) -> torch.Tensor:
        g = torch.Generator(device=states.device).manual_seed(int(self.sample_seed))
        return torch.randn((self.steps, *states.shape[:-1], self.action_dim), generator=g,
                           device=states.device)


def _flat(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[0] != size:
        raise ValueError(f"expected a leading seed dimension of {size}, got shape {tuple(x.shape)}")
    return x.reshape(size, -1, x.shape[-1])


class StackedDiffusionActor(PlainNamedStack, _DiffusionHead):
    """N :class:`DiffusionActor` copies: states ``(N, ..., S)``, chain noise ``(N, T, ..., A)``."""

    step_dim = 1

    def __init__(self, members: Sequence[DiffusionActor]) -> None:
        super().__init__(members)
        first = members[0]
        self.time_net = _stack_mlp([m.time_net for m in members])
        self.net = _stack_mlp([m.net for m in members])
        self.sample_seed: torch.Tensor
        self.register_buffer("sample_seed", torch.stack([m.sample_seed for m in members]))
        self._set_schedule(first.steps, first.action_dim, first.max_action, first.time_dim)

    def time_features(self) -> torch.Tensor:
        table = self.time_table.expand(self.size, *self.time_table.shape)
        return self.time_net(table)

    def step_features(self, features: torch.Tensor, step: int, like: torch.Tensor) -> torch.Tensor:
        f = features[:, step]
        return f.reshape(self.size, *([1] * (like.dim() - 2)), f.shape[-1]).expand(
            *like.shape[:-1], f.shape[-1])

    def gather_features(self, features: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        index = t.reshape(self.size, -1, 1)
        return torch.take_along_dim(features, index, dim=1).reshape(*t.shape, features.shape[-1])

    def epsilon(self, states: torch.Tensor, noisy: torch.Tensor, features: torch.Tensor
                ) -> torch.Tensor:
        x = torch.cat([states, noisy, features], dim=-1)
        out = self.net(_flat(x, self.size))
        return out.reshape(*x.shape[:-1], out.shape[-1])

    def draw_noise(self, states: torch.Tensor) -> torch.Tensor:
        shape = (self.steps, *states.shape[1:-1], self.action_dim)
        draws = []
        for seed in self.sample_seed.tolist():
            g = torch.Generator(device=states.device).manual_seed(int(seed))
            draws.append(torch.randn(shape, generator=g, device=states.device))
        return torch.stack(draws)


# -- the agent -----------------------------------------------------------------------------------
class DiffQL(Agent):
    config_class = DiffQLConfig
    version = 1
    target_networks = ("actor", "critics")
    member_scalars = ("gamma", "eta", "bc_weight")
    config: DiffQLConfig
    actor: _DiffusionHead
    actor_target: _DiffusionHead

    def build(self) -> dict[str, nn.Module]:
        cfg = self.config
        actor = DiffusionActor(self.state_dim, self.action_dim, cfg.actor_hidden, cfg.max_action,
                               cfg.denoise_steps, cfg.time_embed_dim)
        return {"actor": actor, "critics": self.make_critics(count=2)}

    def _stack(self, members: list[nn.Module]) -> nn.Module:
        if isinstance(members[0], DiffusionActor):
            return StackedDiffusionActor([m.to(self.device) for m in members]  # type: ignore[misc]
                                         ).to(self.device)
        return super()._stack(members)

    def make_optimizers(self) -> None:
        self.actor_optimizer = self.adam(self.actor, self.config.actor_lr)
        self._ema_lists: tuple[list[torch.Tensor], ...] | None = None

    # -- pieces ------------------------------------------------------------------------------
    def _seed_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        """``x``'s shape for one seed (without the leading seed dimension of a batched agent)."""
        return tuple(x.shape[1:] if self.batched else x.shape)

    def sample(self, actor: nn.Module, states: torch.Tensor) -> torch.Tensor:
        """Actions of ``actor`` by the reverse chain, its noise from each seed's generator."""
        noise = self.randn((self.config.denoise_steps, *self._seed_shape(states)[:-1],
                            self.action_dim))
        return actor(states, noise)

    def next_q(self, states: torch.Tensor) -> torch.Tensor:
        """The target critics' value of ``s'`` under the target policy (max-Q backup or not)."""
        cfg = self.config
        actor = self.actor if cfg.tau >= 1.0 else self.actor_target
        critics = self.target_critics()
        if not cfg.max_q_backup:
            return self.q_min(critics, states, self.sample(actor, states))
        repeated = states.unsqueeze(-2).expand(*states.shape[:-1], cfg.max_q_samples,
                                               states.shape[-1])
        q = self.q_values(critics, repeated, self.sample(actor, repeated))  # (..., B, samples)
        return torch.stack([qk.max(dim=-1).values for qk in q]).min(dim=0).values

    def _clip(self, module: nn.Module) -> None:
        """Scale ``module``'s gradient to norm at most ``grad_norm``, each seed on its own."""
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        if not grads:
            return
        if self.batched:
            squares = torch.stack([g.pow(2).reshape(g.shape[0], -1).sum(1) for g in grads]).sum(0)
        else:
            squares = torch.stack([g.pow(2).sum() for g in grads]).sum()
        scale = (self.config.grad_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.reshape(-1, *([1] * (g.dim() - 1))) if self.batched else scale)

    def _step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
              modules: Sequence[nn.Module]) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_norm > 0:
            for module in modules:
                self._clip(module)
        optimizer.step()

    def _update_targets(self, update: int) -> None:
        """Critic targets every update; the target policy every ``actor_ema_every`` updates
        from ``actor_ema_start`` on (``update`` counts from 0)."""
        cfg = self.config
        if cfg.tau >= 1.0:
            return
        if self._ema_lists is None:  # updated in place, so listed once
            self._ema_lists = (list(self.critics_target.parameters()),
                               list(self.critics.parameters()),
                               list(self.actor_target.parameters()),
                               list(self.actor.parameters()))
        critic_targets, critics, actor_targets, actors = self._ema_lists
        with torch.no_grad():
            torch._foreach_lerp_(critic_targets, critics, cfg.tau)
            if update >= cfg.actor_ema_start and update % cfg.actor_ema_every == 0:
                torch._foreach_lerp_(actor_targets, actors, cfg.tau)

    # -- the update --------------------------------------------------------------------------
    def update(self, batch: Batch) -> dict[str, float]:
        cfg, n = self.config, self.num_seeds
        with torch.no_grad():
            target = batch.rewards + self.scalar("gamma") * (1.0 - batch.dones) * self.next_q(
                batch.next_states)
        q_values = self.q_values(self.critics, batch.states, batch.actions)
        critic_loss: torch.Tensor = sum(batch_mean((q - target) ** 2)  # type: ignore[assignment]
                                        for q in q_values)
        self._step(self.critic_optimizer, critic_loss, list(self.critics))

        actor = self.actor
        features = actor.time_features()
        steps = cfg.denoise_steps
        t = self._draw(lambda shape, generator, device: torch.randint(
            0, steps, shape, generator=generator, device=device), self._seed_shape(batch.rewards))
        noise = self.randn(self._seed_shape(batch.actions))
        noisy = actor.noised(batch.actions, t, noise)
        eps = actor.epsilon(batch.states, noisy, actor.gather_features(features, t))
        denoising_error = ((eps - noise) ** 2).mean(dim=-1)
        bc_loss = batch_mean(self.scalar("bc_weight") * denoising_error)
        if cfg.q_action == "chain":
            policy_actions = actor(batch.states, self.randn(
                (steps, *self._seed_shape(batch.actions))), features)
        else:
            policy_actions = actor.predicted_start(noisy, t, eps)
        with self.frozen(self.critics):
            q_first, q_second = self.q_values(self.critics, batch.states, policy_actions)
        q_policy = torch.where(self.rand((1,)) < 0.5, q_first, q_second)
        scale = q_policy.abs().mean(dim=-1, keepdim=True).detach().clamp_min(1e-6)
        q_loss = -batch_mean(self.scalar("eta") * q_policy / scale)
        actor_loss = bc_loss + q_loss
        self._step(self.actor_optimizer, actor_loss, [self.actor])

        self._update_targets(self.updates)
        self.updates += 1
        return {"critic_loss": float(critic_loss.detach()) / n,
                "q_data": float(q_values[0].detach().mean()),
                "actor_loss": float(actor_loss.detach()) / n,
                "bc_loss": float(batch_mean(denoising_error.detach())) / n,
                "q_loss": float(q_loss.detach()) / n}
