"""The paper's toy task (appendix E) and full-batch Q-value iteration on it.

A 2-D continuous state, 8 discrete actions that move the state by 0.01 along an axis or a
diagonal, all rewards zero (so the true Q is zero everywhere), and a dataset of random
(s, a, s') triples. The bootstrap target is ``γ·max_a' Q(s', a')`` from the current network
itself (no target network), so any growth of Q is self-excitation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from seemrepro.core.critics import make_critic, parameter_norm
from seemrepro.core.seem import check_gamma, seem_from_matrix, seem_matrix
from seemrepro.runtime import using_threads

DIVERGENCE_THRESHOLD = 1e6
ACTIONS = torch.tensor(
    [[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=torch.float64
)


@dataclass(frozen=True)
class ToyDataset:
    """``x`` = (s, a) inputs (N, 4); ``next_states`` (N, 2); rewards are zero."""

    states: torch.Tensor
    actions: torch.Tensor
    next_states: torch.Tensor

    @property
    def x(self) -> torch.Tensor:
        return torch.cat([self.states, self.actions], dim=1)

    @property
    def rewards(self) -> torch.Tensor:
        return torch.zeros(self.states.shape[0], dtype=self.states.dtype)

    def all_next_inputs(self) -> torch.Tensor:
        """(N, 8, 4): every action paired with every next state."""
        n, k = self.next_states.shape[0], ACTIONS.shape[0]
        states = self.next_states.unsqueeze(1).expand(n, k, 2)
        actions = ACTIONS.to(self.states.dtype).unsqueeze(0).expand(n, k, 2)
        return torch.cat([states, actions], dim=2)

    def to(self, dtype: torch.dtype) -> ToyDataset:
        return ToyDataset(self.states.to(dtype), self.actions.to(dtype),
                          self.next_states.to(dtype))


def make_toy_dataset(
    num_samples: int = 100, *, step: float = 0.01, seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> ToyDataset:
    """Random states in [-1, 1]², uniformly random actions, ``s' = s + step·a``."""
    if num_samples <= 0:
        raise ValueError(f"num_samples must be positive, got {num_samples}")
    generator = torch.Generator().manual_seed(seed)
    states = torch.rand(num_samples, 2, generator=generator, dtype=torch.float64) * 2 - 1
    actions = ACTIONS[torch.randint(0, ACTIONS.shape[0], (num_samples,), generator=generator)]
    next_states = states + step * actions
    return ToyDataset(states.to(dtype), actions.to(dtype), next_states.to(dtype))


def greedy_next_inputs(critic: nn.Module, data: ToyDataset) -> torch.Tensor:
    """X*: each next state with the action the current critic rates highest, (N, 4)."""
    candidates = data.all_next_inputs()
    with torch.no_grad():
        q = critic(candidates.reshape(-1, candidates.shape[-1])).reshape(candidates.shape[:2])
    best = q.argmax(dim=1)
    return candidates[torch.arange(candidates.shape[0]), best]


@dataclass
class TDTrace:
    """Per-step record of a Q-value iteration run."""

    steps: list[int] = field(default_factory=list)
    mean_q: list[float] = field(default_factory=list)
    max_abs_q: list[float] = field(default_factory=list)
    td_error_norm: list[float] = field(default_factory=list)
    param_norm: list[float] = field(default_factory=list)
    seem_steps: list[int] = field(default_factory=list)
    seem: list[float] = field(default_factory=list)
    seem_normalized: list[float] = field(default_factory=list)
    diverged_at: int | None = None
    # |cosine| between the eigenvectors of A's rightmost eigenvalue at each SEEM measurement and
    # at the one before (NaN at the first): near 1 once the direction u_t follows is stable
    seem_vector_cosine: list[float] = field(default_factory=list)

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in
                ("steps", "mean_q", "max_abs_q", "td_error_norm", "param_norm")}

    def seem_arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in
                ("seem_steps", "seem", "seem_normalized", "seem_vector_cosine")}

    def truncated(self, last_step: int) -> TDTrace:
        """The record up to and including ``last_step``, as if training had stopped there."""
        if not self.steps or not self.steps[0] <= last_step <= self.steps[-1]:
            raise ValueError(f"step {last_step} is outside the recorded steps")
        n = self.steps.index(last_step) + 1
        m = sum(1 for s in self.seem_steps if s <= last_step)
        diverged = self.diverged_at if self.diverged_at is not None and \
            self.diverged_at <= last_step else None
        return TDTrace(self.steps[:n], self.mean_q[:n], self.max_abs_q[:n],
                       self.td_error_norm[:n], self.param_norm[:n], self.seem_steps[:m],
                       self.seem[:m], self.seem_normalized[:m], diverged,
                       self.seem_vector_cosine[:m])


def rightmost_eigenvector(a: torch.Tensor) -> np.ndarray:
    """Unit eigenvector (complex) of the eigenvalue of ``a`` with the largest real part."""
    values, vectors = np.linalg.eig(a.detach().cpu().double().numpy())
    vector = vectors[:, int(np.argmax(values.real))]
    return vector / np.linalg.norm(vector)


def q_value_iteration(
    critic: nn.Module,
    data: ToyDataset,
    *,
    gamma: float = 0.99,
    optimizer: Literal["sgd", "adam"] = "sgd",
    lr: float = 0.01,
    steps: int = 1000,
    threshold: float = DIVERGENCE_THRESHOLD,
    loss: Literal["mean", "sum"] = "mean",
    adam_betas: tuple[float, float] = (0.9, 0.999),
    seem_every: int | None = None,
    seem_until: int | None = None,
    progress: bool = False,
) -> TDTrace:
    """Full-batch Q-value iteration (squared TD error to ``γ·max_a' Q(s', a')``, no target network).

    ``adam_betas`` are Adam's moment decay rates. ``loss`` averages or sums the squared errors over the batch (a sum is a mean with the
    learning rate multiplied by the batch size). With ``seem_every = k`` the SEEM of the current
    network, with ``X`` the dataset inputs and ``X*`` their greedy next inputs, is recorded every
    ``k`` steps, up to step ``seem_until`` when given, with the |cosine| between the rightmost
    eigenvector of each ``A`` and of the one measured before it (``seem_vector_cosine``). Stops cleanly at the first step whose Q is non-finite or above ``threshold`` in
    absolute value, and records that step in ``diverged_at``.
    """
    check_gamma(gamma)
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    if loss not in ("mean", "sum"):
        raise ValueError(f"unknown loss reduction {loss!r}; choose mean or sum")
    if seem_every is not None and seem_every <= 0:
        raise ValueError(f"seem_every must be positive, got {seem_every}")
    params = [p for p in critic.parameters() if p.requires_grad]
    opt: torch.optim.Optimizer
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr)
    elif optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr, betas=adam_betas)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose sgd or adam")
    x, rewards = data.x, data.rewards
    trace = TDTrace()
    previous_vector: np.ndarray | None = None
    for step in tqdm(range(steps + 1), disable=not progress, desc="Q-value iteration"):
        x_next = greedy_next_inputs(critic, data)
        q = critic(x)
        with torch.no_grad():
            target = rewards + gamma * critic(x_next)
            td = q.detach() - target
            worst = float(q.detach().abs().max())
        trace.steps.append(step)
        trace.mean_q.append(float(q.detach().mean()))
        trace.max_abs_q.append(worst)
        trace.td_error_norm.append(float(td.norm()))
        trace.param_norm.append(parameter_norm(critic))
        if not math.isfinite(worst) or worst > threshold:
            trace.diverged_at = step
            break
        if seem_every is not None and step % seem_every == 0 and \
                (seem_until is None or step <= seem_until):
            a = seem_matrix(critic, x, x_next, gamma)
            measured = seem_from_matrix(a)
            trace.seem_steps.append(step)
            trace.seem.append(measured.raw)
            trace.seem_normalized.append(measured.normalized)
            vector = rightmost_eigenvector(a)
            trace.seem_vector_cosine.append(
                math.nan if previous_vector is None else float(abs(np.vdot(previous_vector, vector))))
            previous_vector = vector
        if step == steps:
            break
        squared = (q - target) ** 2
        objective = squared.mean() if loss == "mean" else squared.sum()
        opt.zero_grad(set_to_none=True)
        objective.backward()
        opt.step()
    return trace


def balance_neurons(critic: nn.Module, *, sweeps: int = 50) -> None:
    """Rescale a bias-free ReLU MLP in place so that every hidden unit's incoming and outgoing
    weights have equal norms, without changing the function it computes.

    Gradient flow conserves ``‖incoming‖² − ‖outgoing‖²`` of each hidden unit of such a
    network; PyTorch's default initialization makes the output layer far smaller than the
    first, and while that imbalance dominates the weights the NTK stays near its initial value.
    Balancing sets every conserved imbalance to zero. One sweep is exact for one hidden layer;
    deeper networks need a few alternating sweeps.
    """
    layers = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    if any(m.bias is not None for m in layers):
        raise ValueError("balancing keeps the function only for a bias-free network")
    with torch.no_grad():
        for _ in range(sweeps if len(layers) > 2 else 1):
            for inner, outer in pairwise(layers):
                factor = (outer.weight.norm(dim=0) / inner.weight.norm(dim=1)).sqrt()
                factor = torch.where(torch.isfinite(factor) & (factor > 0), factor,
                                     torch.ones_like(factor))  # dead units stay as they are
                inner.weight.mul_(factor[:, None])
                outer.weight.div_(factor[None, :])


def layer_imbalance(critic: nn.Module) -> float:
    """``‖W_first‖²_F / ‖W_last‖²_F`` of an MLP's Linear layers: how much larger the first
    layer is than the output layer (1 after :func:`balance_neurons` on one hidden layer)."""
    layers = [m for m in critic.modules() if isinstance(m, nn.Linear)]
    if len(layers) < 2:
        raise ValueError("need at least two Linear layers")
    with torch.no_grad():
        return float(layers[0].weight.pow(2).sum() / layers[-1].weight.pow(2).sum())


def run_toy(
    *,
    depth: int = 2,
    width: int = 200,
    seed: int = 0,
    bias: bool = False,
    num_samples: int = 100,
    balanced: bool = False,
    **options: Any,
) -> TDTrace:
    """One Q-value iteration run on the toy task with a fresh ReLU MLP of ``depth`` layers.

    ``bias=False`` gives an exactly ``L``-homogeneous network, the setting of Lemma 1 and
    Theorems 3-4; ``balanced=True`` then rescales the initial weights with
    :func:`balance_neurons` (same function, no conserved imbalance); ``options`` go to
    :func:`q_value_iteration`.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    data = make_toy_dataset(num_samples, seed=seed)
    critic = make_critic(4, (width,) * (depth - 1), seed=seed, bias=bias)
    if balanced:
        balance_neurons(critic)
    with using_threads(1):  # these small problems only lose to threading overhead
        return q_value_iteration(critic, data, **options)
