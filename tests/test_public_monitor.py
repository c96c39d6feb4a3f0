"""The public SEEM monitor: every critic shape reads as the library's ``seem`` of each head."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import seemrepro
from seemrepro.core.critics import make_critic, parameter_count
from seemrepro.core.seem import SEEM, seem
from seemrepro.engine.data import MonitorSetWarning
from seemrepro.monitor import (
    SURGE_PERSISTENCE,
    SURGE_RISE,
    EarlyWarning,
    SEEMMonitor,
    SEEMRow,
    SEEMSurgeWarning,
    early_warning,
)

S_DIM, A_DIM, GAMMA = 3, 2, 0.9


def _data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    states = torch.randn(n, S_DIM, generator=g)
    return states, torch.rand(n, A_DIM, generator=g) * 2 - 1, states + 0.1 * torch.randn(
        n, S_DIM, generator=g)


def _policy() -> nn.Module:
    torch.manual_seed(7)
    return nn.Sequential(nn.Linear(S_DIM, A_DIM), nn.Tanh())


def _critic(seed: int) -> nn.Module:
    return make_critic(S_DIM + A_DIM, (16, 16), seed=seed)


class StateAction(nn.Module):
    """``q(s, a)`` returning (N, 1)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.cat([s, a], dim=1)).unsqueeze(-1)


class Twin(nn.Module):
    """One module with two heads, ``q(s, a) -> (q1, q2)``."""

    def __init__(self, q1: nn.Module, q2: nn.Module) -> None:
        super().__init__()
        self.q1, self.q2 = q1, q2

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([s, a], dim=1)
        return self.q1(x), self.q2(x)


class Ensemble(nn.Module):
    """``f(x) -> (E, N)``."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])


def _monitor(critic: nn.Module | tuple[nn.Module, ...], policy: nn.Module | None = None,
             **options: object) -> SEEMMonitor:
    options = {"gamma": GAMMA, "samples": 32, "every": 1, **options}
    return SEEMMonitor(critic, *_data(), policy or _policy(), **options)  # type: ignore[arg-type]


def _alone(critic: nn.Module, monitor: SEEMMonitor) -> SEEM:
    return seem(critic, monitor.x, monitor.x_next(), monitor.gamma, method=monitor.method,
                normalize_by_parameters=True)


def _assert_row_is(row: SEEMRow, expected: SEEM) -> None:
    assert row.seem == pytest.approx(expected.raw, rel=1e-6, abs=1e-12)
    assert row.seem_normalized == pytest.approx(expected.normalized, rel=1e-6, abs=1e-12)
    assert row.frobenius == pytest.approx(expected.frobenius, rel=1e-6)
    assert row.eigenvalue_real == pytest.approx(expected.eigenvalue.real, rel=1e-6, abs=1e-12)
    assert abs(row.eigenvalue_imag) == pytest.approx(abs(expected.eigenvalue.imag), rel=1e-5,
                                                     abs=1e-9)


def test_concat_critic_reads_as_the_library_seem_with_the_ntk_divided_by_p() -> None:
    critic = _critic(0)
    monitor = _monitor(critic)
    rows = monitor(0)
    assert [r.head for r in rows] == [0]
    _assert_row_is(rows[0], _alone(critic, monitor))
    assert monitor.parameter_counts == [parameter_count(critic)]
    plain = seem(critic, monitor.x, monitor.x_next(), GAMMA)  # NTK not divided by P
    assert rows[0].seem == pytest.approx(plain.raw / parameter_count(critic), rel=1e-6)


@pytest.mark.parametrize("critic_inputs", ["auto", "state_action"])
def test_state_action_critic_with_column_output(critic_inputs: str) -> None:
    critic = _critic(0)
    monitor = _monitor(StateAction(critic), critic_inputs=critic_inputs)
    _assert_row_is(monitor(0)[0], _alone(critic, monitor))


def test_twin_critics_as_a_pair_read_as_each_critic_alone() -> None:
    q1, q2 = _critic(0), _critic(1)
    monitor = _monitor((q1, q2))
    rows = monitor(0)
    assert [r.head for r in rows] == [0, 1]
    _assert_row_is(rows[0], _alone(q1, monitor))
    _assert_row_is(rows[1], _alone(q2, monitor))
    assert rows[0].seem != rows[1].seem


@pytest.mark.parametrize("method", ["structured", "jacobian"])
def test_twin_module_heads_use_only_their_own_parameters(method: str) -> None:
    q1, q2 = _critic(0), _critic(1)
    monitor = _monitor(Twin(q1, q2), method=method)
    assert monitor.parameter_counts == [parameter_count(q1), parameter_count(q2)]
    rows = monitor(0)
    _assert_row_is(rows[0], _alone(q1, monitor))
    _assert_row_is(rows[1], _alone(q2, monitor))


def test_a_zero_initialized_output_layer_still_counts_the_heads_parameters() -> None:
    q1, q2 = _critic(0), _critic(1)
    with torch.no_grad():
        q1.net[-1].weight.zero_()  # the hidden layers' gradients are exactly zero here
    monitor = _monitor(Twin(q1, q2))
    assert monitor.parameter_counts == [parameter_count(q1), parameter_count(q2)]
    _assert_row_is(monitor(0)[0], _alone(q1, monitor))


def test_ensemble_heads_read_as_each_member_alone() -> None:
    members = [_critic(seed) for seed in range(3)]
    monitor = _monitor(Ensemble(members))
    rows = monitor(0)
    assert [r.head for r in rows] == [0, 1, 2]
    assert monitor.parameter_counts == [parameter_count(m) for m in members]
    for row, member in zip(rows, members, strict=True):
        _assert_row_is(row, _alone(member, monitor))


def test_gamma_zero_reads_negative_on_distinct_rows() -> None:
    # γ = 0: A = −G(X, X), negative definite for distinct rows when P ≥ M.
    q1, q2 = _critic(0), _critic(1)
    monitor = _monitor(Twin(q1, q2), gamma=0.0)
    assert min(monitor.parameter_counts) >= monitor.x.shape[0]
    assert all(r.seem < 0 and r.seem_normalized < 0 for r in monitor(0))


def test_x_has_distinct_rows_and_warns_when_samples_exceed_the_data() -> None:
    states, actions, next_states = _data(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small = SEEMMonitor(_critic(0), states, actions, next_states, _policy(), gamma=GAMMA,
                            samples=16)
    assert torch.unique(small.x, dim=0).shape[0] == 16
    with pytest.warns(MonitorSetWarning, match=r"only 40.*SEEMMonitor\(samples"):
        full = SEEMMonitor(_critic(0), states, actions, next_states, _policy(), gamma=GAMMA,
                           samples=100)
    assert torch.unique(full.x, dim=0).shape[0] == 40
    again = SEEMMonitor(_critic(0), states, actions, next_states, _policy(), gamma=GAMMA,
                        samples=16)
    assert torch.equal(again.x, small.x)  # seeded


def test_x_is_the_engine_monitor_set_for_the_same_seed() -> None:
    from seemrepro.datasets.resolve import synthetic
    from seemrepro.engine.data import monitor_set

    data = synthetic(50, S_DIM, A_DIM)
    monitor = SEEMMonitor(_critic(0), data.states, data.actions, data.next_states, _policy(),
                          gamma=GAMMA, samples=20, seed=4)
    assert torch.equal(monitor.states, monitor_set(data, 20, seed=4).states)


@pytest.mark.parametrize("gamma", [1.0, -0.1, 1.5])
def test_gamma_outside_the_unit_interval_is_refused(gamma: float) -> None:
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\)"):
        _monitor(_critic(0), gamma=gamma)


@pytest.mark.parametrize("every", [0, -5])
def test_every_must_be_positive(every: int) -> None:
    with pytest.raises(ValueError, match="every must be a positive"):
        _monitor(_critic(0), every=every)


def test_ambiguous_or_wrong_shapes_ask_for_an_explicit_value() -> None:
    class Square(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(S_DIM + A_DIM, 32)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x).T  # (32, N): with N = 32 rows, (E, N) or (N, E)?

    with pytest.raises(ValueError, match="critic_shape="):
        _monitor(Square())
    assert len(_monitor(Square(), critic_shape="ensemble").heads) == 32
    with pytest.raises(ValueError, match="critic_shape='single'"):
        _monitor(Ensemble([_critic(0), _critic(1)]), critic_shape="single")
    with pytest.raises(ValueError, match="policy returned shape"):
        SEEMMonitor(_critic(0), *_data(), lambda s: s, gamma=GAMMA, samples=8)(0)


def test_measures_every_interval_and_collects_a_tidy_frame() -> None:
    monitor = _monitor((_critic(0), _critic(1)), every=5, samples=8)
    returned = [monitor(step) for step in range(11)]
    assert [len(r) for r in returned] == [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2]
    frame = monitor.frame()
    assert list(frame.columns) == ["step", "head", "seem", "seem_normalized", "frobenius",
                                   "eigenvalue_real", "eigenvalue_imag"]
    assert frame["step"].tolist() == [0, 0, 5, 5, 10, 10]
    assert frame["head"].tolist() == [0, 1] * 3


@pytest.mark.parametrize("mode", [True, False])
def test_the_critics_train_or_eval_mode_is_restored(mode: bool) -> None:
    twin = Twin(_critic(0), _critic(1)).train(mode)
    _monitor(twin)(0)
    assert all(m.training == mode for m in twin.modules())


def test_the_warning_thresholds_are_the_registered_t10_values() -> None:
    from seemrepro.experiments.claims import get_claim

    assert SURGE_RISE == get_claim("T10").threshold("surge_rise") == 0.3
    assert SURGE_PERSISTENCE == get_claim("T10").threshold("surge_persistence") == 3


def test_early_warning_fires_on_a_sustained_rise_at_its_third_measurement() -> None:
    steps = [0, 100, 200, 300, 400, 500]
    found = early_warning(steps, [0.05, 0.1, 0.4, 0.5, 0.45, 0.6])
    assert found == EarlyWarning(step=400, started_at=200, head=0, baseline=0.05,
                                 level=pytest.approx(0.35))


def test_early_warning_ignores_isolated_spikes_and_too_short_runs() -> None:
    steps = [0, 100, 200, 300, 400, 500]
    assert early_warning(steps, [0.05, 0.9, 0.1, 0.2, 0.9, 0.9]) is None  # spike; 2 at the end
    assert early_warning(steps, [0.05, 0.3, 0.35, 0.35, 0.35, 0.1]) is None  # never above 0.35
    assert early_warning(steps, [np.nan, 0.9, 0.9, 0.9, 0.9, 0.9]) is None
    assert early_warning(steps[:4], [0.0, 0.5, 0.5, 0.5]) is not None  # exactly three


def _scripted(monkeypatch: pytest.MonkeyPatch, values: list[float]) -> None:
    """Make the monitor read ``values`` as successive normalized SEEMs."""
    script = iter(values)

    def fake(a: torch.Tensor, *, eigen: str = "auto") -> SEEM:
        v = next(script)
        return SEEM(raw=v, normalized=v, frobenius=1.0, eigenvalue=complex(v, 0.0))

    monkeypatch.setattr("seemrepro.monitor.seem_from_matrix", fake)


def test_the_monitor_warns_once_through_its_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    _scripted(monkeypatch, [0.0, 0.8, 0.1, 0.5, 0.6, 0.7, 0.9, 0.9])
    seen: list[EarlyWarning] = []
    monitor = _monitor(_critic(0), every=10, samples=8, on_warning=seen.append)
    for step in range(0, 80, 10):
        monitor(step)
        if step < 50:
            assert monitor.warning is None and monitor.warned_at is None
    assert monitor.warned_at == 50
    assert seen == [monitor.warning]
    assert monitor.warning is not None and monitor.warning.started_at == 30


def test_without_a_callback_the_monitor_issues_a_python_warning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _scripted(monkeypatch, [0.0, 0.5, 0.5, 0.5])
    monitor = _monitor(_critic(0), samples=8)
    for step in range(3):
        monitor(step)
    with pytest.warns(SEEMSurgeWarning, match="from step 1"):
        monitor(3)
    assert monitor.warned_at == 3


def test_seem_monitor_is_exported_from_the_package() -> None:
    assert seemrepro.SEEMMonitor is SEEMMonitor


def test_x_lives_on_the_critics_device_and_dtype() -> None:
    critic = make_critic(S_DIM + A_DIM, (16, 16), seed=0, dtype=torch.float64)
    policy = _policy().double()
    monitor = SEEMMonitor(critic, *_data(), policy, gamma=GAMMA, samples=16)  # float32 data
    assert monitor.x.dtype == torch.float64 and monitor.x.device == monitor.device
    _assert_row_is(monitor(0)[0], _alone(critic, monitor))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_critic_is_measured_on_its_device_from_cpu_data() -> None:
    critic = _critic(0)
    on_cpu = _monitor(critic)(0)[0]
    monitor = _monitor(_critic(0).cuda(), policy=_policy().cuda())
    assert monitor.x.is_cuda
    assert monitor(0)[0].seem_normalized == pytest.approx(on_cpu.seem_normalized, rel=1e-3)
