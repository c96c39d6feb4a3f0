import pytest
import torch
from torch import nn

from seemrepro.core.critics import CriticConfig, make_critic, parameter_count, parameter_norm


def layer_types(critic: nn.Module) -> list[str]:
    return [type(m).__name__ for m in critic.net]


def test_default_is_relu_mlp_with_scalar_output() -> None:
    critic = make_critic(5, (8, 8), seed=0)
    assert layer_types(critic) == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert critic(torch.randn(7, 5)).shape == (7,)
    assert parameter_count(critic) == 5 * 8 + 8 + 8 * 8 + 8 + 8 + 1


def test_layernorm_sits_between_linear_and_relu_on_chosen_layers() -> None:
    critic = make_critic(3, (4, 4, 4), norm="layernorm", norm_layers=(0, 2), seed=0)
    assert layer_types(critic) == ["Linear", "LayerNorm", "ReLU", "Linear", "ReLU",
                                   "Linear", "LayerNorm", "ReLU", "Linear"]
    all_layers = make_critic(3, (4, 4, 4), norm="layernorm", seed=0)
    assert layer_types(all_layers).count("LayerNorm") == 3


def test_layernorm_affine_switch() -> None:
    affine = make_critic(3, (4,), norm="layernorm", seed=0)
    plain = make_critic(3, (4,), norm="layernorm", norm_affine=False, seed=0)
    assert parameter_count(affine) - parameter_count(plain) == 8


def test_batchnorm_dropout_and_weightnorm_variants() -> None:
    bn = make_critic(3, (4, 4), norm="batchnorm", dropout=0.1, seed=0)
    assert layer_types(bn).count("BatchNorm1d") == 2
    assert layer_types(bn).count("Dropout") == 2
    out_wn = make_critic(3, (4, 4), weight_norm="output", seed=0)
    all_wn = make_critic(3, (4, 4), weight_norm="all", seed=0)
    count = lambda c: sum("parametrizations" in n for n, _ in c.named_parameters())
    assert count(out_wn) == 2 and count(all_wn) == 6  # (g, v) per normalized layer


def test_zero_hidden_layers_is_linear_and_can_have_input_layernorm() -> None:
    linear = make_critic(4, (), bias=False, seed=0)
    x = torch.randn(6, 4)
    assert torch.allclose(linear(2 * x), 2 * linear(x))
    ln = make_critic(4, (), input_layernorm=True, seed=0)
    assert layer_types(ln) == ["LayerNorm", "Linear"]
    # LayerNorm in front makes the function invariant to positive input scaling
    assert torch.allclose(ln(3 * x), ln(x), atol=1e-3)


def test_seed_makes_initialization_reproducible() -> None:
    a, b = make_critic(3, (16,), seed=4), make_critic(3, (16,), seed=4)
    c = make_critic(3, (16,), seed=5)
    assert parameter_norm(a) == parameter_norm(b) != parameter_norm(c)


@pytest.mark.parametrize(
    "options, message",
    [({"norm": "groupnorm"}, "unknown norm"), ({"weight_norm": "input"}, "unknown weight_norm"),
     ({"dropout": 1.0}, "dropout"), ({"norm": "layernorm", "norm_layers": (3,)}, "out of range"),
     ],
)
def test_bad_configuration_is_rejected(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CriticConfig(**{"hidden": (4, 4), **options})


def test_bad_input_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="input_dim"):
        make_critic(0, (4,))
