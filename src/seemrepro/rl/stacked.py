"""Several seeds' copies of one network trained as a single module with stacked parameters.

Every stack maps inputs shaped ``(N, ...)`` to outputs shaped ``(N, ...)``: copy ``i`` sees
``x[i]``. The common networks (MLP critics, the IQL value net, both actors, the temperature) get
hand-written stacked layers — one ``baddbmm`` per Linear over all seeds — whose state-dict keys
are the plain module's with a leading seed dimension. Anything else falls back to
:class:`StackedModule`, which evaluates the plain module under ``vmap``; that is general but
pays a large per-call overhead.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn.utils import parametrize

from seemrepro.core.critics import MLPCritic
from seemrepro.core.norms import StackedLayerNorm, StackedNorm, normalization_of
from seemrepro.rl.networks import (
    DeterministicActor,
    TanhGaussianActor,
    Temperature,
    squashed_gaussian,
)

__all__ = ["PlainNamedStack", "SeedStack", "StackedLayerNorm", "StackedLinear", "StackedModule",
           "StackedSequential", "stack_members", "stack_sequential"]


class SeedStack(nn.Module):
    """N copies of one architecture; :meth:`member` gives copy ``i`` as a plain module."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("need at least one member")
        self.size = len(members)
        # not a submodule: its parameters are overwritten by every member() call
        object.__setattr__(self, "_member_template", copy.deepcopy(members[0]))

    def member(self, index: int) -> nn.Module:
        """An independent plain module holding copy ``index``'s current state."""
        module: nn.Module = copy.deepcopy(self._member_template)  # type: ignore[arg-type,assignment]
        module.load_state_dict({k: v.detach().clone() for k, v in self.member_state(index).items()})
        return module

    def member_state(self, index: int) -> dict[str, torch.Tensor]:
        """Copy ``index``'s state under the plain module's names (views, not copies)."""
        raise NotImplementedError


class PlainNamedStack(SeedStack):
    """A hand-written stack whose state-dict keys are the plain module's."""

    def member_state(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.state_dict().items()}

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str,
                              *args: Any, **kwargs: Any) -> None:
        # checkpoints from the vmap stack name tensors "stacked.net__0__weight", "buf__state_mean"
        for key in [k for k in state_dict if k.startswith((prefix + "stacked.", prefix + "buf__"))]:
            name = key[len(prefix):].split(".", 1)[-1].removeprefix("buf__")
            state_dict[prefix + name.replace("__", ".")] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class StackedLinear(nn.Module):
    """N Linear layers: ``(N, M, in) -> (N, M, out)`` with ``weight`` shaped ``(N, out, in)``."""

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        self.bias: nn.Parameter | None
        if layers[0].bias is None:
            self.register_parameter("bias", None)
        else:
            self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.transpose(1, 2)
        if self.bias is None:
            return torch.bmm(x, weight)
        return torch.baddbmm(self.bias.unsqueeze(1), x, weight)

    def seed_forward(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Copy ``index`` alone on ``(M, in)``."""
        return F.linear(x, self.weight[index], None if self.bias is None else self.bias[index])


# Rows per seed from which the seeds run one after another: each seed's activations then stay
# as small as a single-seed run's, and each GEMM gets every thread (MKL's batched GEMM splits
# large ones poorly: CQL's penalty ran 20% slower batched than seed by seed).
SEED_LOOP_ROWS = 2048


class StackedSequential(nn.Sequential):
    """Stacked Linear/normalization/ReLU/Tanh layers on ``(N, M, features)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < SEED_LOOP_ROWS:
            return super().forward(x)
        return torch.stack([self.seed_forward(x[i], i) for i in range(x.shape[0])])

    def seed_forward(self, x: torch.Tensor, index: int) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, (StackedLinear, StackedNorm)):
                x = layer.seed_forward(x, index)
            else:
                x = layer(x)
        return x


def _stackable_layer(layers: Sequence[nn.Module]) -> nn.Module | None:
    first = layers[0]
    if any(type(layer) is not type(first) for layer in layers):
        return None
    if type(first) is nn.Linear and not parametrize.is_parametrized(first):
        return StackedLinear(layers)  # type: ignore[arg-type]
    norm = normalization_of(first)
    if norm is not None and type(first) is norm.module_type:  # a subclass may change forward
        return norm.stack(layers)
    if type(first) is nn.ReLU:
        return nn.ReLU()  # in place measured no faster
    if type(first) is nn.Tanh:
        return nn.Tanh()
    return None


def stack_sequential(members: Sequence[nn.Sequential]) -> StackedSequential | None:
    """A stacked copy of Linear/normalization/ReLU/Tanh stacks, on ``(N, M, features)``.

    Layers keep their indices, so parameter names match the plain ``Sequential``'s. ``None``
    when some layer has no stacked form.
    """
    if any(len(m) != len(members[0]) for m in members):
        return None
    layers = [_stackable_layer([m[i] for m in members]) for i in range(len(members[0]))]
    if any(layer is None for layer in layers):
        return None
    return StackedSequential(*layers)  # type: ignore[arg-type]


def _flat(x: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, ..., d) -> (N, M, d)``."""
    if x.shape[0] != size:
        raise ValueError(f"expected a leading seed dimension of {size}, got shape {tuple(x.shape)}")
    return x.reshape(size, -1, x.shape[-1])


class StackedCritic(PlainNamedStack):
    """N :class:`~seemrepro.core.critics.MLPCritic` copies: ``(N, ..., in) -> (N, ...)``."""

    def __init__(self, members: Sequence[MLPCritic], net: StackedSequential) -> None:
        super().__init__(members)
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(_flat(x, self.size)).reshape(x.shape[:-1])


class StackedDeterministicActor(PlainNamedStack):
    """N :class:`~seemrepro.rl.networks.DeterministicActor` copies."""

    def __init__(self, members: Sequence[DeterministicActor], net: StackedSequential) -> None:
        super().__init__(members)
        self.net = net
        self.max_action = members[0].max_action
        self.state_mean: torch.Tensor
        self.state_std: torch.Tensor
        self.register_buffer("state_mean", torch.stack([m.state_mean for m in members]))
        self.register_buffer("state_std", torch.stack([m.state_std for m in members]))

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Shared ``(S,)`` or per-seed ``(N, S)`` statistics."""
        self.state_mean.copy_(mean)
        self.state_std.copy_(std)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        normalized = (_flat(state, self.size) - self.state_mean.unsqueeze(1)) \
            / self.state_std.unsqueeze(1)
        action = self.max_action * torch.tanh(self.net(normalized))
        return action.reshape(*state.shape[:-1], action.shape[-1])


class StackedTanhGaussianActor(PlainNamedStack):
    """N :class:`~seemrepro.rl.networks.TanhGaussianActor` copies; noise ``(N, [n,] B, A)``."""

    def __init__(self, members: Sequence[TanhGaussianActor], net: StackedSequential) -> None:
        super().__init__(members)
        self.net = net
        self.max_action = members[0].max_action
        self.log_std_bounds = members[0].log_std_bounds

    def forward(self, state: torch.Tensor, noise: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        output = self.net(_flat(state, self.size))
        output = output.reshape(*state.shape[:-1], output.shape[-1])
        return squashed_gaussian(output, noise, self.max_action, self.log_std_bounds,
                                 sample_dim=1)


class StackedTemperature(PlainNamedStack):
    """N temperatures: ``log_alpha`` shaped ``(N,)``."""

    def __init__(self, members: Sequence[Temperature]) -> None:
        super().__init__(members)
        self.log_alpha = nn.Parameter(torch.stack([m.log_alpha.detach() for m in members]))

    def forward(self, like: torch.Tensor) -> torch.Tensor:
        return self.log_alpha.reshape(-1, *([1] * (like.dim() - 1))).expand(like.shape)


class StackedModule(SeedStack):
    """The general fallback: stacked parameters evaluated through the plain module under vmap.

    Parameter names are the template's with dots replaced by ``__``.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__(members)
        for m in members:
            if any(isinstance(x, (nn.BatchNorm1d, nn.Dropout)) for x in m.modules()):
                raise ValueError("batched seeds do not support BatchNorm or dropout critics; "
                                 "train those seeds one at a time")
        params, buffers = stack_module_state(list(members))  # type: ignore[arg-type]
        self.names = list(params)
        self.buffer_names = list(buffers)
        self.stacked = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v)
                                         for k, v in params.items()})
        for k, v in buffers.items():
            self.register_buffer("buf__" + k.replace(".", "__"), v.clone())
        template = copy.deepcopy(members[0]).to("meta")
        object.__setattr__(self, "template", template)  # not a submodule: holds no state

    def _state(self) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        params = {k: self.stacked[k.replace(".", "__")] for k in self.names}
        buffers = {k: getattr(self, "buf__" + k.replace(".", "__")) for k in self.buffer_names}
        return params, buffers

    def forward(self, *args: torch.Tensor) -> Any:
        params, buffers = self._state()
        template: nn.Module = self.template  # type: ignore[assignment]

        def call(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], *a: torch.Tensor) -> Any:
            return functional_call(template, (p, b), a)

        return vmap(call)(params, buffers, *args)

    def member_state(self, index: int) -> dict[str, torch.Tensor]:
        params, buffers = self._state()
        return {k: v[index] for k, v in {**params, **buffers}.items()}


def stack_members(members: Sequence[nn.Module]) -> SeedStack:
    """The fastest stack for these copies of one network: hand-written where known, else vmap."""
    first = members[0]
    if all(type(m) is type(first) for m in members):
        if type(first) is Temperature:
            return StackedTemperature(members)  # type: ignore[arg-type]
        plain = (MLPCritic, DeterministicActor, TanhGaussianActor)
        nets: list[nn.Sequential] = ([m.net for m in members]  # type: ignore[misc]
                                     if type(first) in plain else [])
        net = stack_sequential(nets) if nets else None
        if net is not None:
            if type(first) is MLPCritic:
                return StackedCritic(members, net)  # type: ignore[arg-type]
            if type(first) is DeterministicActor:
                return StackedDeterministicActor(members, net)  # type: ignore[arg-type]
            return StackedTanhGaussianActor(members, net)  # type: ignore[arg-type]
    return StackedModule(members)
