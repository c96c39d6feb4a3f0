"""A SEEM divergence monitor for any offline-RL training loop.

Every ``every`` steps :class:`SEEMMonitor` measures, for each critic head ``Q_θ``, on a fixed
set ``X`` of ``M`` dataset inputs ``x_i = (s_i, a_i)`` and their bootstrap inputs
``x*_i = (s'_i, π(s'_i))`` under the current policy::

    G(X1, X2)_ij = ∇_θ Q_θ(x1_i) · ∇_θ Q_θ(x2_j) / P      (NTK Gram matrix; P = #parameters)
    A            = γ · G(X*, X) − G(X, X)                  (M × M)
    SEEM         = max_k Re λ_k(A)                         (raw)
    SEEM_norm    = SEEM / ‖A‖_F                            (normalized, scale free)

By Theorem 1 of the paper, one small gradient step of Q-value iteration maps the TD-error
vector as ``u ← (I + ηA) u``, so a positive SEEM means the TD error excites itself and Q
diverges; a negative one means it contracts. Dividing the NTK by P (the parameters the head
depends on) follows the paper's code and the project's training monitor; it scales the raw
SEEM and ``‖A‖_F`` by ``1/P`` and leaves the normalized SEEM unchanged.

Early warning: the normalized SEEM of a fresh critic sits at some level of its own; the monitor
warns once a head's normalized SEEM has exceeded its value at the first measurement by more
than :data:`SURGE_RISE` for :data:`SURGE_PERSISTENCE` consecutive measurements. Both values are
the book's registered T10 thresholds (``get_claim("T10")``), fixed before the book's runs; a
single measurement above the level is an isolated spike and does not warn.

Usage (about ten lines in a training loop)::

    from seemrepro import SEEMMonitor

    monitor = SEEMMonitor((critic1, critic2), states, actions, next_states, actor,
                          gamma=0.99, samples=256, every=1000)
    for step in range(steps):
        ...  # one training step
        monitor(step)
        if monitor.warning:
            print("SEEM surge from step", monitor.warning.started_at)
    frame = monitor.frame()  # step, head, seem, seem_normalized, frobenius, eigenvalue_*
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from seemrepro.core.critics import parameter_count
from seemrepro.core.ntk import Method, _required_inputs, eval_mode
from seemrepro.core.seem import EigenMethod, check_gamma, seem_from_matrix, seem_matrix
from seemrepro.core.surge import ArrayLike, first_sustained_crossing
from seemrepro.engine.data import monitor_indices
from seemrepro.experiments.claims import get_claim

if TYPE_CHECKING:
    import pandas as pd

CriticInputs = Literal["auto", "concat", "state_action"]
CriticShape = Literal["auto", "single", "twin", "ensemble"]

#: Rise of the normalized SEEM over its first measured value that counts as a surge (T10).
SURGE_RISE: float = get_claim("T10").threshold("surge_rise")
#: Consecutive measurements the rise must hold before the monitor warns (T10).
SURGE_PERSISTENCE: int = int(get_claim("T10").threshold("surge_persistence"))


class SEEMSurgeWarning(UserWarning):
    """Issued once when a monitored head's normalized SEEM surges (no ``on_warning`` given)."""


@dataclass(frozen=True)
class SEEMRow:
    """One measurement of one head: raw SEEM (NTK divided by P), normalized SEEM, ``‖A‖_F``
    (same scaling as the raw SEEM) and the rightmost eigenvalue of ``A``."""

    step: int
    head: int
    seem: float
    seem_normalized: float
    frobenius: float
    eigenvalue_real: float
    eigenvalue_imag: float


@dataclass(frozen=True)
class EarlyWarning:
    """A sustained rise of one head's normalized SEEM.

    ``step`` is the measurement at which the rule was first met (the last of the
    ``persistence`` consecutive measurements above ``level``), ``started_at`` the first of
    them; ``level`` is ``baseline + rise`` with ``baseline`` the head's first measured value.
    """

    step: int
    started_at: int
    head: int
    baseline: float
    level: float


def early_warning(steps: ArrayLike, values: ArrayLike, *, head: int = 0,
                  rise: float = SURGE_RISE,
                  persistence: int = SURGE_PERSISTENCE) -> EarlyWarning | None:
    """The monitor's rule applied to one head's record of normalized SEEM values.

    Warns at the first measurement that completes ``persistence`` consecutive values above
    ``values[0] + rise`` (the same sustained-crossing rule as the book's T10 surge, except that
    a run of fewer values at the end of the record does not warn yet: it may still be a spike).
    NaN never exceeds the level; a NaN first value never warns.
    """
    t, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if y.size == 0:
        return None
    level = float(y[0]) + rise
    start = first_sustained_crossing(t, y, level, persistence=persistence)
    if start is None:
        return None
    first = int(np.nonzero(t == start)[0][0])
    if first + persistence > y.size:
        return None  # the crossing is still too short to tell from a spike
    return EarlyWarning(step=int(t[first + persistence - 1]), started_at=int(start), head=head,
                        baseline=float(y[0]), level=level)


class _Head(nn.Module):
    """Head ``index`` of a critic as ``f(x) -> (N,)`` on concatenated (s, a) rows.

    Its parameters are only those the head depends on, so the NTK and P of
    :func:`seemrepro.core.ntk.ntk_features` are the head's own: the whole critic is registered
    when the head uses all of it, else just the modules owning the head's parameters (the same
    objects, so hooks and ``functional_call`` reach them when the critic runs).
    """

    def __init__(self, critic: nn.Module, state_dim: int, two_inputs: bool,
                 index: int | None, owners: Sequence[nn.Module] | None) -> None:
        super().__init__()
        self.state_dim = state_dim
        self.two_inputs = two_inputs
        self.index = index
        if owners is None:
            self.critic = critic
        else:
            self.owners = nn.ModuleList(owners)
            object.__setattr__(self, "_unregistered", critic)  # kept out of parameters()

    def train(self, mode: bool = True) -> _Head:
        super().train(mode)
        if not hasattr(self, "critic"):  # the unregistered critic follows the head's mode
            self.__dict__["_unregistered"].train(mode)
        return self

    def _critic(self) -> nn.Module:
        return self.critic if hasattr(self, "critic") else self.__dict__["_unregistered"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        critic = self._critic()
        if self.two_inputs:
            out = critic(x[:, :self.state_dim], x[:, self.state_dim:])
        else:
            out = critic(x)
        if self.index is not None:
            out = out[self.index]
        return out.reshape(x.shape[0])


def _is_module_sequence(critic: Any) -> bool:
    return (isinstance(critic, (list, tuple, nn.ModuleList))
            and all(isinstance(c, nn.Module) for c in critic) and len(critic) > 0)


def _two_inputs(module: nn.Module, critic_inputs: CriticInputs) -> bool:
    if critic_inputs != "auto":
        if critic_inputs not in ("concat", "state_action"):
            raise ValueError(f"unknown critic_inputs {critic_inputs!r}; choose auto, concat or "
                             "state_action")
        return critic_inputs == "state_action"
    required = _required_inputs(module)
    if required not in (1, 2):
        raise ValueError(f"cannot tell how to call the critic (its forward takes {required} "
                         "required inputs); pass critic_inputs='concat' for f(x) on "
                         "concatenated (s, a) rows or 'state_action' for f(s, a)")
    return required == 2


def _head_count(out: Any, n: int, critic_shape: CriticShape) -> int | None:
    """Heads in a probe output on ``n`` rows (``None``: one head, no indexing)."""
    def one_per_row(t: Any) -> bool:
        return isinstance(t, torch.Tensor) and tuple(t.shape) in ((n,), (n, 1))

    if critic_shape == "auto":
        if isinstance(out, (tuple, list)):
            critic_shape = "twin"
        elif one_per_row(out):
            critic_shape = "single"
        elif isinstance(out, torch.Tensor) and out.ndim in (2, 3) and out.shape[1] == n \
                and out.shape[0] != n:
            critic_shape = "ensemble"
        else:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"cannot tell the critic's heads from its output {shape} on {n} "
                             "rows; pass critic_shape='single' ((N,) or (N, 1)), 'twin' (a "
                             "tuple of such) or 'ensemble' ((E, N) or (E, N, 1))")
    if critic_shape == "single":
        if not one_per_row(out):
            raise ValueError(f"critic_shape='single' needs one Q per row, (N,) or (N, 1); got "
                             f"{getattr(out, 'shape', type(out).__name__)} for N = {n}")
        return None
    if critic_shape == "twin":
        if not isinstance(out, (tuple, list)) or not all(one_per_row(t) for t in out):
            raise ValueError("critic_shape='twin' needs a sequence of critics or a critic "
                             "returning a tuple of (N,) or (N, 1) tensors")
        return len(out)
    if critic_shape == "ensemble":
        if not (isinstance(out, torch.Tensor) and out.ndim in (2, 3) and out.shape[1] == n
                and (out.ndim == 2 or out.shape[2] == 1)):
            raise ValueError(f"critic_shape='ensemble' needs an (E, N) or (E, N, 1) tensor; "
                             f"got {getattr(out, 'shape', type(out).__name__)} for N = {n}")
        return int(out.shape[0])
    raise ValueError(f"unknown critic_shape {critic_shape!r}; choose auto, single, twin or "
                     "ensemble")


def _parameters_used(critic: nn.Module, x: torch.Tensor, state_dim: int, two_inputs: bool,
                     count: int) -> list[set[int]]:
    """Ids of the trainable parameters each of ``count`` heads depends on.

    A parameter counts when the head's gradient on X is non-zero somewhere. That is read at
    randomly perturbed parameters (a fixed private generator, the critic untouched), so that an
    exact zero of the critic's current state (e.g. a zero-initialized output layer) does not
    hide a dependency, while heads that only share a graph node (``torch.stack`` of separate
    members) get exact zeros for each other's parameters.
    """
    named = {n: p for n, p in critic.named_parameters() if p.requires_grad}
    g = torch.Generator().manual_seed(0)
    perturbed = {n: (p.detach() + 0.1 * torch.randn(p.shape, generator=g, dtype=p.dtype)
                     .to(p.device)).requires_grad_() for n, p in named.items()}
    inputs = (x[:, :state_dim], x[:, state_dim:]) if two_inputs else (x,)
    with eval_mode(critic), torch.enable_grad():
        out = functional_call(critic, perturbed, inputs)
        used = []
        for i in range(count):
            grads = torch.autograd.grad(out[i].sum(), list(perturbed.values()),
                                        allow_unused=True, retain_graph=True)
            used.append({id(named[n]) for n, grad in zip(perturbed, grads, strict=True)
                         if grad is not None and bool(grad.ne(0).any())})
    return used


def _heads_of(critic: nn.Module, x: torch.Tensor, state_dim: int, two_inputs: bool,
              critic_shape: CriticShape) -> list[_Head]:
    """One adapter per head of a single module, each exposing only the parameters it uses."""
    with eval_mode(critic), torch.no_grad():
        probe = critic(x[:, :state_dim], x[:, state_dim:]) if two_inputs else critic(x)
    count = _head_count(probe, x.shape[0], critic_shape)
    if count is None:
        return [_Head(critic, state_dim, two_inputs, None, None)]
    params = [p for p in critic.parameters() if p.requires_grad]
    heads = [_Head(critic, state_dim, two_inputs, i, None) for i in range(count)]
    used = _parameters_used(critic, x, state_dim, two_inputs, count)
    adapters = []
    for i, ids in enumerate(used):
        if len(ids) == len(params):
            adapters.append(heads[i])
            continue
        owners = [m for m in critic.modules()
                  if any(id(p) in ids for p in m.parameters(recurse=False))]
        for owner in owners:
            if any(p.requires_grad and id(p) not in ids for p in owner.parameters()):
                raise ValueError(f"head {i}'s parameters share a module with parameters it does "
                                 "not use; pass the heads as separate modules, e.g. "
                                 "(critic.q1, critic.q2)")
        adapters.append(_Head(critic, state_dim, two_inputs, i, owners))
    return adapters


class SEEMMonitor:
    """SEEM of every critic head on a fixed set X, every ``every`` training steps.

    Args:
        critic: ``f(x)`` on concatenated (s, a) rows or ``f(s, a)``, returning (N,) or (N, 1);
            twin critics as a pair/list of such modules or one module returning a tuple of
            them; an ensemble returning (E, N) or (E, N, 1). Each head's NTK and P use only the
            parameters that head depends on, so a twin's head ``i`` reads exactly as critic
            ``i`` alone. (An ensemble whose heads share parameter tensors, e.g. batched
            weights of shape (E, ...), counts every head's entries in P: its raw SEEM is then
            E times smaller; the normalized SEEM is unaffected.)
        states, actions, next_states: the dataset's (n, ·) tensors (any device).
        policy: ``π(s')``, called on X's next states at every measurement, under no_grad.
        gamma: discount γ in [0, 1).
        samples: M, the size of X; drawn once, without replacement (distinct rows: a repeated
            row makes A singular and a negative SEEM read as zero), from the ``seed``'s
            monitor-set stream, as the project's training engine draws it. M larger than the
            data takes all of it and warns (:class:`seemrepro.engine.data.MonitorSetWarning`).
        every: measure when ``step % every == 0``.
        critic_inputs, critic_shape: how to call the critic and read its heads; ``"auto"``
            counts ``forward``'s required inputs and probes the output, and asks for an
            explicit value when that is ambiguous (e.g. an (N, N) output).
        on_warning: called once with the :class:`EarlyWarning`; without it a
            :class:`SEEMSurgeWarning` is issued.
        rise, persistence: the early-warning rule (defaults: :data:`SURGE_RISE`,
            :data:`SURGE_PERSISTENCE`); see :func:`early_warning`.
        method, eigen: NTK and eigenvalue methods of :func:`seemrepro.core.seem.seem`.

    Everything is computed on the critic's device, in eval mode (no dropout, BatchNorm
    running statistics), and the critic's mode is restored afterwards.
    """

    def __init__(self, critic: nn.Module | Sequence[nn.Module], states: torch.Tensor,
                 actions: torch.Tensor, next_states: torch.Tensor,
                 policy: Callable[[torch.Tensor], torch.Tensor], *, gamma: float,
                 samples: int = 256, every: int = 1000, seed: int = 0,
                 critic_inputs: CriticInputs = "auto", critic_shape: CriticShape = "auto",
                 on_warning: Callable[[EarlyWarning], None] | None = None,
                 rise: float = SURGE_RISE, persistence: int = SURGE_PERSISTENCE,
                 method: Method = "auto", eigen: EigenMethod = "auto") -> None:
        check_gamma(gamma)
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ValueError(f"every must be a positive number of steps, got {every!r}")
        if persistence < 1:
            raise ValueError(f"persistence must be at least 1, got {persistence}")
        states, actions, next_states = (torch.as_tensor(t) for t in
                                        (states, actions, next_states))
        if states.ndim != 2 or actions.ndim != 2 or next_states.shape != states.shape \
                or actions.shape[0] != states.shape[0]:
            raise ValueError("states, actions and next_states must be 2-D with one row per "
                             f"transition; got {tuple(states.shape)}, {tuple(actions.shape)}, "
                             f"{tuple(next_states.shape)}")
        is_sequence = _is_module_sequence(critic)
        modules: list[nn.Module] = (list(cast("Sequence[nn.Module]", critic)) if is_sequence
                                    else [cast(nn.Module, critic)])
        if not all(isinstance(m, nn.Module) for m in modules):
            raise TypeError("critic must be an nn.Module or a sequence of them")
        first = next((p for m in modules for p in m.parameters()), None)
        if first is None:
            raise ValueError("the critic has no parameters")
        self.device, dtype = first.device, first.dtype
        idx = monitor_indices(states.shape[0], samples, seed, setting="SEEMMonitor(samples=...)",
                              stacklevel=3)
        self.states = states[idx.to(states.device)].to(self.device, dtype)
        self.actions = actions[idx.to(actions.device)].to(self.device, dtype)
        self.next_states = next_states[idx.to(next_states.device)].to(self.device, dtype)
        self.indices = idx
        x = self.x
        self.heads: list[nn.Module] = []
        if is_sequence:
            if critic_shape not in ("auto", "twin"):
                raise ValueError(f"a sequence of critics is read as 'twin', not {critic_shape!r}")
            for module in modules:
                self.heads += _heads_of(module, x, states.shape[1],
                                        _two_inputs(module, critic_inputs), "single")
        else:
            self.heads = list(_heads_of(modules[0], x, states.shape[1],
                                        _two_inputs(modules[0], critic_inputs), critic_shape))
        self.modules = modules
        self.policy = policy
        self.gamma = gamma
        self.every = every
        self.rise = rise
        self.persistence = persistence
        self.method: Method = method
        self.eigen: EigenMethod = eigen
        self.on_warning = on_warning
        self.rows: list[SEEMRow] = []
        self._warning: EarlyWarning | None = None

    @property
    def x(self) -> torch.Tensor:
        """X, the fixed (M, state_dim + action_dim) inputs ``(s, a)``."""
        return torch.cat([self.states, self.actions], dim=1)

    def x_next(self) -> torch.Tensor:
        """X* = (s', π(s')) under the current policy."""
        with torch.no_grad():
            a_next = self.policy(self.next_states)
        if a_next.shape != self.actions.shape:
            raise ValueError(f"the policy returned shape {tuple(a_next.shape)} for "
                             f"{self.next_states.shape[0]} states; expected "
                             f"{tuple(self.actions.shape)}")
        return torch.cat([self.next_states, a_next.to(self.states.dtype)], dim=1)

    @property
    def parameter_counts(self) -> list[int]:
        """P of each head: the trainable parameters its Q depends on."""
        return [parameter_count(h) for h in self.heads]

    @property
    def warning(self) -> EarlyWarning | None:
        """The first early warning (any head), or ``None``."""
        return self._warning

    @property
    def warned_at(self) -> int | None:
        """The step at which the early-warning rule was first met, or ``None``."""
        return None if self._warning is None else self._warning.step

    def __call__(self, step: int) -> list[SEEMRow]:
        return self.step(step)

    def step(self, step: int) -> list[SEEMRow]:
        """Measure when ``step % every == 0`` (returns the new rows, else ``[]``)."""
        return self.measure(step) if step % self.every == 0 else []

    def measure(self, step: int) -> list[SEEMRow]:
        """Measure now, whatever the step; one row per head, appended to :attr:`rows`."""
        x, x_next = self.x, self.x_next()
        new = []
        for i, head in enumerate(self.heads):
            with contextlib.ExitStack() as modes:  # restore the user's train/eval modes
                for module in self.modules:
                    modes.enter_context(eval_mode(module))
                a = seem_matrix(head, x, x_next, self.gamma, method=self.method,
                                normalize_by_parameters=True)
            if not bool(torch.isfinite(a).all()):
                warnings.warn(f"step {step}, head {i}: A has non-finite entries (the critic has "
                              "diverged numerically); SEEM recorded as NaN", RuntimeWarning,
                              stacklevel=2)
                nan = float("nan")
                new.append(SEEMRow(step, i, nan, nan, nan, nan, nan))
                continue
            s = seem_from_matrix(a, eigen=self.eigen)
            new.append(SEEMRow(step, i, s.raw, s.normalized, s.frobenius, s.eigenvalue.real,
                               s.eigenvalue.imag))
        self.rows += new
        self._check_warning()
        return new

    def _check_warning(self) -> None:
        if self._warning is not None:
            return
        for i in range(len(self.heads)):
            own = [r for r in self.rows if r.head == i]
            found = early_warning([r.step for r in own], [r.seem_normalized for r in own],
                                  head=i, rise=self.rise, persistence=self.persistence)
            if found is not None:
                self._warning = found
                break
        if self._warning is None:
            return
        if self.on_warning is not None:
            self.on_warning(self._warning)
        else:
            w = self._warning
            warnings.warn(f"SEEM surge: head {w.head}'s normalized SEEM exceeded {w.level:.3g} "
                          f"(first value {w.baseline:.3g} + {self.rise:g}) for "
                          f"{self.persistence} measurements from step {w.started_at}; Q-value "
                          "divergence is likely", SEEMSurgeWarning, stacklevel=4)

    def frame(self) -> pd.DataFrame:
        """All rows as a pandas DataFrame (one row per step and head)."""
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.rows],
                            columns=[f.name for f in fields(SEEMRow)])
