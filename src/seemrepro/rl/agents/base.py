"""The update skeleton every agent shares: config fields, critics, targets, optimizers, seeds.

An agent is built either for one seed (tensors shaped ``(B, ...)``) or for several seeds at once
(``seeds=[...]``): then every network is a stack (:mod:`seemrepro.rl.stacked`) whose
parameters carry a leading seed dimension, batches are shaped ``(N, B, ...)`` and each seed
draws its own noise from its own generator. Losses are written with :func:`batch_mean` (mean over the batch, sum
over seeds), so each seed's gradient, Adam state and parameters are those it would have alone.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn
from typing_extensions import Self

from seemrepro.core.critics import CriticConfig, MLPCritic, build_critic
from seemrepro.rl.buffers import Batch
from seemrepro.rl.networks import Temperature
from seemrepro.rl.stacked import SeedStack, StackedModule, stack_members

C = TypeVar("C", bound="AgentConfig")
__all__ = ["Agent", "AgentConfig", "StackedModule", "Temperature", "batch_mean", "config_fields",
           "soft_update"]


def _int_tuple(value: Any, name: str) -> tuple[int, ...]:
    """Layer sizes or indices: one integer or a sequence of them."""
    items = (value,) if isinstance(value, int) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, int) for i in items):
        raise ValueError(f"{name} must be an integer or a list of integers, got {value!r}")
    return tuple(items)


@dataclass(frozen=True)
class AgentConfig:
    """Fields common to every agent, with the paper's defaults."""

    actor_hidden: tuple[int, ...] = (256, 256)
    critic: CriticConfig = field(default_factory=CriticConfig)
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    critic_weight_decay: float = 0.0
    gamma: float = 0.99
    tau: float = 0.005
    max_action: float = 1.0
    adam_betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"discount gamma must lie in [0, 1), got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must lie in (0, 1], got {self.tau}")
        if self.critic_weight_decay < 0:
            raise ValueError(f"critic_weight_decay must be non-negative, got "
                             f"{self.critic_weight_decay}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["actor_hidden"] = list(self.actor_hidden)
        d["adam_betas"] = list(self.adam_betas)
        d["critic"] = self.critic.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Inverse of :meth:`to_dict`; unknown keys are an error naming the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} option(s) {unknown}; "
                             f"valid: {', '.join(sorted(names))}")
        values = dict(data)
        if isinstance(values.get("critic"), dict):
            critic = dict(values["critic"])
            unknown_critic = sorted(set(critic) - {f.name for f in dataclasses.fields(CriticConfig)})
            if unknown_critic:
                raise ValueError(f"unknown critic option(s) {unknown_critic}")
            for key in ("hidden", "norm_layers"):
                if critic.get(key) is not None:
                    critic[key] = _int_tuple(critic[key], f"critic.{key}")
            values["critic"] = CriticConfig(**critic)
        if "adam_betas" in values:
            values["adam_betas"] = tuple(values["adam_betas"])
        if "actor_hidden" in values:
            values["actor_hidden"] = _int_tuple(values["actor_hidden"], "actor_hidden")
        return cls(**values)

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)


def batch_mean(x: torch.Tensor, dims: int = 1) -> torch.Tensor:
    """Mean over the last ``dims`` (batch) dimensions, summed over any leading seed dimension."""
    return x.mean(dim=tuple(range(-dims, 0))).sum()


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target ← (1 − τ)·target + τ·source`` for parameters; buffers are copied."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)
        for tb, sb in zip(target.buffers(), source.buffers(), strict=True):
            tb.copy_(sb)


class Agent:
    """Shared construction, target handling, optimizer steps and (de)serialization.

    Subclasses set ``config_class`` and implement :meth:`build` (create ``self.actor`` and
    ``self.critics`` and any extra networks through :meth:`networks`), :meth:`update` and, for
    stochastic actors, :meth:`act`.
    """

    config_class: ClassVar[type[AgentConfig]] = AgentConfig
    # Bump when a change alters this class's numbers: cached runs of it are then stale. Each
    # subclass keeps its own; a run's code version lists every class it inherits from.
    version: ClassVar[int] = 1
    num_critics: int = 2
    target_networks: ClassVar[tuple[str, ...]] = ("critics",)
    # Config fields in which the members of one batched agent may differ: numbers the losses
    # use only elementwise per member, read through :meth:`scalar`.
    member_scalars: ClassVar[tuple[str, ...]] = ("gamma",)

    def __init__(self, state_dim: int, action_dim: int, config: AgentConfig | None = None, *,
                 seed: int = 0, seeds: Sequence[int] | None = None,
                 device: torch.device | str = "cpu",
                 member_configs: Sequence[AgentConfig] | None = None) -> None:
        """``member_configs`` (with ``seeds``): each member's own config, differing from
        ``config`` at most in :attr:`member_scalars`."""
        self.config = config if config is not None else self.config_class()
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, "
                            f"got {type(self.config).__name__}")
        self.state_dim, self.action_dim = state_dim, action_dim
        self.device = torch.device(device)
        self.seeds: list[int] | None = list(seeds) if seeds is not None else None
        seed_list = self.seeds if self.seeds is not None else [seed]
        self.generators = [torch.Generator(device=self.device).manual_seed(s) for s in seed_list]
        self.generator = self.generators[0]
        built: list[dict[str, nn.Module]] = []
        for s in seed_list:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)
                built.append(self.build())
        for name in built[0]:
            if self.seeds is None:
                module = built[0][name].to(self.device)
            else:
                module = self._stack([b[name] for b in built])
            setattr(self, name, module)
        self.critics: nn.ModuleList
        self.critics_target: nn.ModuleList
        for name in self.target_networks:
            setattr(self, name + "_target", copy.deepcopy(getattr(self, name)))
        self.critic_optimizer = self.adam(self.critics, self.config.critic_lr,
                                          self.config.critic_weight_decay)
        self.make_optimizers()
        self.updates = 0
        self._target_tensors: tuple[list[torch.Tensor], ...] | None = None
        self._member_values: dict[str, torch.Tensor] = {}
        self._member_configs = list(member_configs) if member_configs is not None else None
        if member_configs is not None:
            self._set_member_scalars(member_configs)

    def config_of(self, index: int) -> AgentConfig:
        """Member ``index``'s own config (it differs from :attr:`config` at most in
        :attr:`member_scalars`)."""
        return self._member_configs[index] if self._member_configs is not None else self.config

    def _set_member_scalars(self, configs: Sequence[AgentConfig]) -> None:
        if len(configs) != self.num_seeds:
            raise ValueError(f"{len(configs)} member configs for {self.num_seeds} members")
        for c in configs:
            differ = {f.name for f in dataclasses.fields(c)
                      if getattr(c, f.name) != getattr(self.config, f.name)}
            if differ - set(self.member_scalars):
                raise ValueError(f"members of one batched {type(self).__name__} may differ only "
                                 f"in {', '.join(self.member_scalars)}; they differ in "
                                 f"{', '.join(sorted(differ - set(self.member_scalars)))}")
        for name in self.member_scalars:
            values = [float(getattr(c, name)) for c in configs]
            if len(set(values)) > 1:
                self._member_values[name] = torch.tensor(
                    values, dtype=torch.float32, device=self.device).unsqueeze(-1)

    def scalar(self, name: str) -> float | torch.Tensor:
        """Config field ``name``: its value, or when the members of a batched agent differ in
        it, one value per member shaped ``(N, 1)`` to broadcast over each member's batch
        (float32, as torch rounds a Python number for a float32 operation, so each member
        computes exactly what it would alone)."""
        value = self._member_values.get(name)
        return value if value is not None else getattr(self.config, name)

    @classmethod
    def member_signature(cls, agent: dict[str, Any]) -> dict[str, Any]:
        """What the members of one batched agent must share: the config (as a dict) less
        :attr:`member_scalars`."""
        return {k: v for k, v in agent.items() if k not in cls.member_scalars}

    def _stack(self, members: list[nn.Module]) -> nn.Module:
        if isinstance(members[0], nn.ModuleList):
            return nn.ModuleList(self._stack([m[i] for m in members])  # type: ignore[index]
                                 for i in range(len(members[0])))
        return stack_members([m.to(self.device) for m in members]).to(self.device)

    # -- hooks -------------------------------------------------------------------------------
    def build(self) -> dict[str, nn.Module]:
        """The networks of one seed, created under that seed's RNG state (order matters)."""
        raise NotImplementedError

    def make_optimizers(self) -> None:
        """Optimizers beyond the critics' (built after the networks)."""

    def update(self, batch: Batch) -> dict[str, float]:
        raise NotImplementedError

    # -- shared pieces -----------------------------------------------------------------------
    def make_critics(self, input_dim: int | None = None, count: int | None = None) -> nn.ModuleList:
        dim = input_dim if input_dim is not None else self.state_dim + self.action_dim
        return nn.ModuleList(build_critic(dim, self.config.critic)
                             for _ in range(count if count is not None else self.num_critics))

    @property
    def batched(self) -> bool:
        return self.seeds is not None

    @property
    def num_seeds(self) -> int:
        return len(self.generators)

    @property
    def critic(self) -> nn.Module:
        """The first critic head: the one whose SEEM the monitors track."""
        return self.critics[0]

    def member(self, module: nn.Module, index: int) -> nn.Module:
        """Seed ``index``'s copy of ``module`` (the module itself for a single-seed agent)."""
        if isinstance(module, SeedStack):
            return module.member(index)
        if isinstance(module, nn.ModuleList) and module and isinstance(module[0], SeedStack):
            return nn.ModuleList(m.member(index) for m in module)  # type: ignore[union-attr,operator]
        if index != 0 or self.batched:
            raise ValueError(f"no seed {index} in this module")
        return module

    def critic_of(self, index: int = 0) -> MLPCritic:
        return self.member(self.critic, index)  # type: ignore[return-value]

    def actor_of(self, index: int = 0) -> nn.Module:
        return self.member(self.actor, index)  # type: ignore[attr-defined]

    def target_critics(self) -> nn.ModuleList:
        """``tau = 1`` makes the target the current critics themselves, gradient stopped."""
        return self.critics if self.config.tau >= 1.0 else self.critics_target

    def q_values(self, critics: nn.ModuleList, states: torch.Tensor,
                 actions: torch.Tensor) -> list[torch.Tensor]:
        inputs = torch.cat([states, actions], dim=-1)
        return [c(inputs) for c in critics]

    def q_min(self, critics: nn.ModuleList, states: torch.Tensor,
              actions: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.q_values(critics, states, actions)).min(dim=0).values

    def randn(self, shape: Sequence[int]) -> torch.Tensor:
        """Standard normal draws; with several seeds each seed draws from its own generator."""
        return self._draw(torch.randn, shape)

    def rand(self, shape: Sequence[int]) -> torch.Tensor:
        return self._draw(torch.rand, shape)

    def _draw(self, fn: Callable[..., torch.Tensor], shape: Sequence[int]) -> torch.Tensor:
        if not self.batched:
            return fn(tuple(shape), generator=self.generator, device=self.device)
        return torch.stack([fn(tuple(shape), generator=g, device=self.device)
                            for g in self.generators])

    def adam(self, module: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
        # foreach: one call per step for all tensors (CPU defaults to a Python loop over them)
        return torch.optim.Adam(module.parameters(), lr=lr, betas=self.config.adam_betas,
                                weight_decay=weight_decay, foreach=True)

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def soft_update_targets(self) -> None:
        """:func:`soft_update` of every ``*_target`` network, in one foreach call."""
        if self.config.tau >= 1.0:
            return
        if self._target_tensors is None:  # updated in place, so listed once
            lists: tuple[list[torch.Tensor], ...] = ([], [], [], [])
            for name, module in vars(self).items():
                if name.endswith("_target") and isinstance(module, nn.Module):
                    source = getattr(self, name[: -len("_target")])
                    lists[0].extend(module.parameters())
                    lists[1].extend(source.parameters())
                    lists[2].extend(module.buffers())
                    lists[3].extend(source.buffers())
            self._target_tensors = lists
        targets, sources, target_buffers, source_buffers = self._target_tensors
        with torch.no_grad():
            torch._foreach_lerp_(targets, sources, self.config.tau)
            for tb, sb in zip(target_buffers, source_buffers, strict=True):
                tb.copy_(sb)

    @staticmethod
    @contextmanager
    def frozen(module: nn.Module) -> Iterator[None]:
        """Build no gradient path to ``module``'s parameters (the critics in an actor loss).

        Gradients still flow through ``module`` to its inputs; its parameters' gradients, which
        the next critic step would discard anyway, are never computed.
        """
        params = [p for p in module.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def act(self, states: torch.Tensor) -> torch.Tensor:
        """The deterministic policy action (for evaluation and the monitors)."""
        with torch.no_grad():
            return self.actor(states.to(self.device))  # type: ignore[attr-defined,no-any-return,operator]

    # -- checkpoints -------------------------------------------------------------------------
    def _stateful(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items()
                if isinstance(v, (nn.Module, torch.optim.Optimizer))}

    def state_dict(self) -> dict[str, Any]:
        """A deep copy: optimizer states would otherwise share tensors with this agent."""
        state: dict[str, Any] = {k: v.state_dict() for k, v in self._stateful().items()}
        state["updates"] = self.updates
        generators = [g.get_state() for g in self.generators]
        state["generator"] = generators if self.batched else generators[0]
        return copy.deepcopy(state)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, v in self._stateful().items():
            v.load_state_dict(state[k])
            if isinstance(v, torch.optim.Optimizer):  # older checkpoints carry foreach=None
                for group in v.param_groups:
                    group["foreach"] = True
        self.updates = int(state["updates"])
        generators = state["generator"] if self.batched else [state["generator"]]
        for g, s in zip(self.generators, generators, strict=True):
            g.set_state(s)


def config_fields(config_class: type[AgentConfig]) -> dict[str, Any]:
    """Field names and their types, for the command line's ``--set key=value``."""
    hints = typing.get_type_hints(config_class)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_class)}
