"""The paper's toy task (appendix E) and full-batch Q-value iteration on it.

A 2-D continuous state, 8 discrete actions that move the state by 0.01 along an axis or a
diagonal, all rewards zero (so the true Q is zero everywhere), and a dataset of random
(s, a, s') triples. The bootstrap target is ``γ·max_a' Q(s', a')`` from the current network
itself (no target network), so any growth of Q is self-excitation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from seemrepro.core.critics import make_critic, parameter_norm
from seemrepro.core.seem import check_gamma, seem
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

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in
                ("steps", "mean_q", "max_abs_q", "td_error_norm", "param_norm")}

    def seem_arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in
                ("seem_steps", "seem", "seem_normalized")}

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
                       self.seem[:m], self.seem_normalized[:m], diverged)


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
    ``k`` steps, up to step ``seem_until`` when given. Stops cleanly at the first step whose Q is non-finite or above ``threshold`` in
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
            measured = seem(critic, x, x_next, gamma)
            trace.seem_steps.append(step)
            trace.seem.append(measured.raw)
            trace.seem_normalized.append(measured.normalized)
        if step == steps:
            break
        squared = (q - target) ** 2
        objective = squared.mean() if loss == "mean" else squared.sum()
        opt.zero_grad(set_to_none=True)
        objective.backward()
        opt.step()
    return trace


def run_toy(
    *,
    depth: int = 2,
    width: int = 200,
    seed: int = 0,
    bias: bool = False,
    num_samples: int = 100,
    **options: Any,
) -> TDTrace:
    """One Q-value iteration run on the toy task with a fresh ReLU MLP of ``depth`` layers.

    ``bias=False`` gives an exactly ``L``-homogeneous network, the setting of Lemma 1 and
    Theorems 3-4; ``options`` go to :func:`q_value_iteration`.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    data = make_toy_dataset(num_samples, seed=seed)
    critic = make_critic(4, (width,) * (depth - 1), seed=seed, bias=bias)
    with using_threads(1):  # these small problems only lose to threading overhead
        return q_value_iteration(critic, data, **options)
