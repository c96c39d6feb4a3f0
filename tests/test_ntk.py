import pytest
import torch
from torch import nn

from seemrepro.core.critics import make_critic, parameter_count
from seemrepro.core.ntk import gram, ntk_cosine, per_sample_gradients, supports_structured

VARIANTS = [
    {},
    {"norm": "layernorm"},
    {"norm": "layernorm", "norm_affine": False, "norm_layers": (1,)},
    {"norm": "batchnorm"},
    {"dropout": 0.2},
    {"weight_norm": "output"},
    {"weight_norm": "all", "norm": "layernorm"},
]


def loop_gram(module: nn.Module, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """One backward pass per sample: the definition of the empirical NTK."""
    module.eval()
    params = [p for p in module.parameters() if p.requires_grad]

    def rows(x: torch.Tensor) -> torch.Tensor:
        out = []
        for xi in x:
            grads = torch.autograd.grad(module(xi[None]).sum(), params)
            out.append(torch.cat([g.reshape(-1) for g in grads]))
        return torch.stack(out)

    return rows(x1) @ rows(x2).T


@pytest.mark.parametrize("options", VARIANTS)
def test_gram_matches_per_sample_backward(options: dict) -> None:
    torch.manual_seed(0)
    critic = make_critic(5, (12, 9), seed=1, dtype=torch.float64, **options)
    if options.get("norm") == "batchnorm":  # non-trivial running statistics
        critic.train()
        with torch.no_grad():
            critic(torch.randn(64, 5, dtype=torch.float64) * 2 + 1)
    x1, x2 = torch.randn(11, 5, dtype=torch.float64), torch.randn(7, 5, dtype=torch.float64)
    expected = loop_gram(critic, x1, x2)
    assert torch.allclose(gram(critic, x1, x2), expected, rtol=1e-10, atol=1e-10)
    assert torch.allclose(gram(critic, x1, x2, method="jacobian"), expected, rtol=1e-10,
                          atol=1e-10)


def test_structured_path_covers_plain_and_normalized_mlps_only() -> None:
    assert supports_structured(make_critic(3, (4,), norm="layernorm"))
    assert supports_structured(make_critic(3, (4,), norm="batchnorm"))
    assert not supports_structured(make_critic(3, (4,), weight_norm="output"))
    with pytest.raises(ValueError, match="structured NTK"):
        gram(make_critic(3, (4,), weight_norm="output"), torch.randn(2, 3), method="structured")


def test_layernorm_gain_and_bias_are_part_of_the_kernel() -> None:
    critic = make_critic(3, (6,), norm="layernorm", seed=0, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    full = gram(critic, x)
    for p in critic.net[1].parameters():
        p.requires_grad_(False)
    assert not torch.allclose(gram(critic, x), full)
    assert torch.allclose(gram(critic, x), loop_gram(critic, x, x), atol=1e-10)


def test_gram_is_symmetric_psd_and_scaling_divides_by_p() -> None:
    critic = make_critic(4, (16, 16), seed=2, dtype=torch.float64)
    x = torch.randn(20, 4, dtype=torch.float64)
    g = gram(critic, x)
    assert torch.allclose(g, g.T)
    assert torch.linalg.eigvalsh(g).min() > -1e-8 * g.norm()
    scaled = gram(critic, x, normalize_by_parameters=True)
    assert torch.allclose(scaled * parameter_count(critic), g)


def test_per_sample_gradients_shape_and_training_mode_restored() -> None:
    critic = make_critic(4, (8,), dropout=0.5, seed=0)
    critic.train()
    j = per_sample_gradients(critic, torch.randn(5, 4), chunk_size=2)
    assert j.shape == (5, parameter_count(critic))
    assert critic.training


def test_ntk_cosine_of_scaled_kernel_is_one() -> None:
    g = torch.rand(5, 5, dtype=torch.float64)
    assert ntk_cosine(g, 3 * g) == pytest.approx(1.0)
    assert ntk_cosine(g, -g) == pytest.approx(-1.0)


def test_memory_stays_bounded_for_the_paper_size() -> None:
    # M = 2,560 inputs through a 3x256 critic: the Jacobian would be 2,560 x 135,681 floats
    # (1.4 GB); the factored features stay a few MB per layer.
    from seemrepro.core.ntk import ntk_features

    critic = make_critic(14, (256, 256, 256), seed=0)
    features = ntk_features(critic, torch.randn(2560, 14))
    stored = sum(d.numel() + h.numel() for d, h in features.outer)
    stored += sum(f.numel() for f in features.dense)
    assert stored < 2560 * 2000
    assert parameter_count(critic) == 135_681


@pytest.mark.parametrize(
    "x, message",
    [(torch.randn(0, 3), "empty"), (torch.randn(3), "2-D"), (torch.randn(2, 3, 1), "2-D")],
)
def test_bad_batches_are_rejected(x: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gram(make_critic(3, (4,)), x)


def test_vector_output_module_is_rejected() -> None:
    module = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="one scalar per sample"):
        gram(module, torch.randn(4, 3))
