"""Q-networks: ReLU MLPs on (s, a) with the normalization variants the paper compares."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm as _weight_norm

from seemrepro.core.norms import NORMALIZATIONS, get_normalization

HiddenNorm = str  # "none" or a name in seemrepro.core.norms.NORMALIZATIONS
WeightNormPlacement = Literal["none", "output", "all"]


@dataclass(frozen=True)
class CriticConfig:
    """Architecture of an MLP critic, independent of its input size.

    ``norm`` ("none" or a variant registered in :mod:`seemrepro.core.norms`) is applied between
    each hidden Linear and its ReLU, on the hidden layers listed in ``norm_layers`` (``None``
    means every hidden layer). ``hidden=()`` gives a linear function
    approximator; ``input_layernorm`` puts a LayerNorm in front of the first Linear layer.
    """

    hidden: tuple[int, ...] = (256, 256)
    norm: HiddenNorm = "none"
    norm_layers: tuple[int, ...] | None = None
    norm_affine: bool = True
    dropout: float = 0.0
    weight_norm: WeightNormPlacement = "none"
    input_layernorm: bool = False
    bias: bool = True

    def __post_init__(self) -> None:
        if any(h <= 0 for h in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")
        if self.norm != "none" and self.norm not in NORMALIZATIONS:
            raise ValueError(f"unknown norm {self.norm!r}; choose none or one of "
                             f"{', '.join(NORMALIZATIONS)}")
        if self.weight_norm not in ("none", "output", "all"):
            raise ValueError(f"unknown weight_norm {self.weight_norm!r}; choose none, output or all")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.norm_layers is not None:
            bad = [i for i in self.norm_layers if not 0 <= i < len(self.hidden)]
            if bad:
                raise ValueError(
                    f"norm_layers {bad} out of range for {len(self.hidden)} hidden layers"
                )

    @property
    def normalized_layers(self) -> tuple[int, ...]:
        if self.norm == "none":
            return ()
        if self.norm_layers is None:
            return tuple(range(len(self.hidden)))
        return tuple(sorted(set(self.norm_layers)))

    @property
    def batches_over_seeds(self) -> bool:
        """Whether copies of this critic for several seeds can train as one batched network;
        BatchNorm's running statistics and dropout's random masks cannot."""
        return self.norm != "batchnorm" and self.dropout == 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["norm_layers"] = None if self.norm_layers is None else list(self.norm_layers)
        return d


class MLPCritic(nn.Module):
    """``f(x) -> (N,)``: one scalar per input row, with default PyTorch initialization."""

    def __init__(self, input_dim: int, config: CriticConfig) -> None:
        super().__init__()
        if input_dim <= 0:
            raise ValueError(f"input_dim must be positive, got {input_dim}")
        self.config = config
        layers: list[nn.Module] = []
        if config.input_layernorm:
            layers.append(get_normalization("layernorm").build(input_dim, config.norm_affine))
        width = input_dim
        for index, hidden in enumerate(config.hidden):
            linear = nn.Linear(width, hidden, bias=config.bias)
            layers.append(_weight_norm(linear) if config.weight_norm == "all" else linear)
            if index in config.normalized_layers:
                layers.append(get_normalization(config.norm).build(hidden, config.norm_affine))
            layers.append(nn.ReLU())
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width = hidden
        output = nn.Linear(width, 1, bias=config.bias)
        layers.append(_weight_norm(output) if config.weight_norm != "none" else output)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)

    def q(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self(torch.cat([state, action], dim=-1))


def make_critic(
    input_dim: int,
    hidden: tuple[int, ...] = (256, 256),
    *,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    **options: Any,
) -> MLPCritic:
    """Build a critic; with ``seed`` its initial parameters are reproducible."""
    return build_critic(input_dim, CriticConfig(hidden=tuple(hidden), **options), seed=seed,
                        dtype=dtype, device=device)


def build_critic(
    input_dim: int,
    config: CriticConfig,
    *,
    seed: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> MLPCritic:
    if seed is None:
        critic = MLPCritic(input_dim, config)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            critic = MLPCritic(input_dim, config)
    return critic.to(dtype=dtype, device=device)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def parameter_norm(module: nn.Module) -> float:
    with torch.no_grad():
        squares = [(p.double() ** 2).sum() for p in module.parameters() if p.requires_grad]
        return float(torch.stack(squares).sum().sqrt()) if squares else 0.0
