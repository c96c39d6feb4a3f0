"""Baird's counterexample (Sutton & Barto, 2nd ed., example 11.1) for appendix F.5.

Seven states and eight weights: the six upper states have features ``2·e_i + e_8`` and the
lower state ``e_7 + 2·e_8``. From every state the dashed action leads to one of the six upper
states at random and the solid action to the lower state. The behaviour policy takes dashed
with probability 6/7 and solid with 1/7, so it visits the seven states uniformly; the target
policy always takes solid. Every reward is zero, so the true values are zero.

Two versions of off-policy semi-gradient TD(0) are here. :func:`behaviour_policy_td` follows
the behaviour policy and weights each step by the importance ratio ``ρ = π(a|s)/b(a|s)`` (7
for solid, 0 for dashed), as Sutton & Barto state it. :func:`semi_gradient_td` samples the
state the same way but takes the update's expectation over the behaviour's action (always the
solid transition, weight 1), the same mean update with far less variance. With a linear value
function both grow the weights without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from seemrepro.core.critics import make_critic, parameter_norm
from seemrepro.core.seem import check_gamma
from seemrepro.runtime import using_threads

NUM_STATES = 7
NUM_FEATURES = 8
LOWER_STATE = 6
INITIAL_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 10.0, 1.0)
DASHED, SOLID = 0, 1
BEHAVIOUR_PROBABILITY = {DASHED: 6 / 7, SOLID: 1 / 7}
TARGET_PROBABILITY = {DASHED: 0.0, SOLID: 1.0}


def baird_features(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(7, 8) feature matrix, one row per state; the last row is the lower state."""
    phi = torch.zeros(NUM_STATES, NUM_FEATURES, dtype=dtype)
    for i in range(NUM_STATES - 1):
        phi[i, i] = 2.0
        phi[i, 7] = 1.0
    phi[LOWER_STATE, 6] = 1.0
    phi[LOWER_STATE, 7] = 2.0
    return phi


def baird_critic(*, layernorm: bool, dtype: torch.dtype = torch.float64) -> nn.Module:
    """A linear value function with weights ``w0``, optionally with a LayerNorm in front.

    The plain version has no bias, as in the book. The LayerNorm version keeps the LayerNorm's
    affine parameters (initialised to identity) and the output bias (initialised to zero).
    """
    critic = make_critic(NUM_FEATURES, hidden=(), input_layernorm=layernorm, bias=layernorm,
                         dtype=dtype)
    linear = critic.net[-1]
    assert isinstance(linear, nn.Linear)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(INITIAL_WEIGHTS, dtype=dtype).reshape(1, -1))
        if linear.bias is not None:
            linear.bias.zero_()
    return critic


@dataclass
class BairdTrace:
    """Parameter norm and the values of all seven states, every ``record_every`` steps."""

    steps: list[int] = field(default_factory=list)
    param_norm: list[float] = field(default_factory=list)
    max_abs_value: list[float] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(getattr(self, k)) for k in ("steps", "param_norm", "max_abs_value")}

    @property
    def half_norm(self) -> float:
        """The parameter norm at the middle record (half the run)."""
        return self.param_norm[len(self.param_norm) // 2]

    def blew_up(self, *, factor: float, late_factor: float) -> bool:
        """Final norm above ``factor`` × initial and above ``late_factor`` × at half the run."""
        final = self.param_norm[-1]
        return final > factor * self.param_norm[0] and final > late_factor * self.half_norm

    def settled(self, *, tolerance: float, value_max: float) -> bool:
        """Norm within ``tolerance`` of its half-run value and every ``|v(s)| < value_max``."""
        drift = abs(self.param_norm[-1] / self.half_norm - 1)
        return bool(drift < tolerance and self.max_abs_value[-1] < value_max)


def importance_ratio(action: int) -> float:
    """``π(a|s)/b(a|s)`` for an action of Baird's MDP (the same in every state)."""
    if action not in BEHAVIOUR_PROBABILITY:
        raise ValueError(f"unknown action {action}; choose DASHED ({DASHED}) or SOLID ({SOLID})")
    return TARGET_PROBABILITY[action] / BEHAVIOUR_PROBABILITY[action]


@dataclass(frozen=True)
class BehaviourTrajectory:
    """One trajectory of the behaviour policy: ``states[t]``, ``actions[t]``, ``next_states[t]``."""

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray

    @property
    def ratios(self) -> np.ndarray:
        """The per-step importance ratios ``π(a_t|s_t)/b(a_t|s_t)``."""
        return np.array([importance_ratio(int(a)) for a in self.actions])


def behaviour_trajectory(steps: int, *, seed: int = 0) -> BehaviourTrajectory:
    """Follow the behaviour policy for ``steps`` transitions from a uniformly drawn state."""
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    rng = np.random.default_rng(seed)
    start = rng.integers(NUM_STATES)
    actions = np.where(rng.random(steps) < BEHAVIOUR_PROBABILITY[SOLID], SOLID, DASHED)
    upper = rng.integers(0, NUM_STATES - 1, steps)
    next_states = np.where(actions == SOLID, LOWER_STATE, upper)
    states = np.concatenate([[start], next_states[:-1]]).astype(int) if steps else \
        np.zeros(0, dtype=int)
    return BehaviourTrajectory(states, actions, next_states.astype(int))


def td_step(critic: nn.Module, optimizer: torch.optim.Optimizer, phi: torch.Tensor, state: int,
            next_state: int, *, weight: float, gamma: float) -> None:
    """One semi-gradient TD(0) step on ``weight·½(v(s) − sg(γ·v(s')))²`` (reward zero).

    With SGD at step size α this is ``θ += α·weight·(γ·v(s') − v(s))·∇v(s)``.
    """
    value = critic(phi[state: state + 1])
    with torch.no_grad():
        target = gamma * critic(phi[next_state: next_state + 1])
    optimizer.zero_grad(set_to_none=True)
    (0.5 * weight * (value - target) ** 2).sum().backward()
    optimizer.step()


def semi_gradient_td(
    critic: nn.Module,
    *,
    gamma: float = 0.99,
    lr: float = 0.01,
    steps: int = 1000,
    seed: int = 0,
    record_every: int = 10,
) -> BairdTrace:
    """Expected-update version: uniform states, the update's expectation over the action.

    Each step samples one state ``s`` uniformly and takes an SGD step on
    ``½(v(s) − sg(γ·v(s_7)))²`` (reward zero). Its mean equals that of
    :func:`behaviour_policy_td`: the solid action (probability 1/7, ratio 7) contributes the
    same update, the dashed one nothing.
    """
    _check(gamma, lr, steps, record_every)
    states = torch.randint(0, NUM_STATES, (steps,), generator=torch.Generator().manual_seed(seed))
    transitions = [(int(s), LOWER_STATE, 1.0) for s in states]
    return _train(critic, transitions, lr, gamma, record_every)


def behaviour_policy_td(
    critic: nn.Module,
    *,
    gamma: float = 0.99,
    lr: float = 0.01,
    steps: int = 1000,
    seed: int = 0,
    record_every: int = 10,
) -> BairdTrace:
    """Sample version, as Sutton & Barto state it: follow the behaviour policy, weight by ρ.

    Each step takes the behaviour's transition ``(s, a, s')`` and the SGD step of
    :func:`td_step` with weight ``ρ = π(a|s)/b(a|s)``: 7 after a solid action, 0 (no update)
    after a dashed one.
    """
    _check(gamma, lr, steps, record_every)
    path = behaviour_trajectory(steps, seed=seed)
    transitions = [(int(s), int(n), float(r))
                   for s, n, r in zip(path.states, path.next_states, path.ratios, strict=True)]
    return _train(critic, transitions, lr, gamma, record_every)


def _check(gamma: float, lr: float, steps: int, record_every: int) -> None:
    check_gamma(gamma)
    if steps < 0 or record_every <= 0:
        raise ValueError("steps must be non-negative and record_every positive")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")


def _train(critic: nn.Module, transitions: list[tuple[int, int, float]], lr: float, gamma: float,
           record_every: int) -> BairdTrace:
    """SGD over ``(state, next state, weight)`` transitions, recording every ``record_every``."""
    phi = baird_features(next(critic.parameters()).dtype)
    opt = torch.optim.SGD([p for p in critic.parameters() if p.requires_grad], lr=lr)
    trace = BairdTrace()
    steps = len(transitions)
    with using_threads(1):
        for step in range(steps + 1):
            if step % record_every == 0 or step == steps:
                with torch.no_grad():
                    values = critic(phi)
                trace.steps.append(step)
                trace.param_norm.append(parameter_norm(critic))
                trace.max_abs_value.append(float(values.abs().max()))
            if step == steps:
                break
            state, next_state, weight = transitions[step]
            if weight != 0.0:  # a zero-weight step changes nothing
                td_step(critic, opt, phi, state, next_state, weight=weight, gamma=gamma)
    return trace


def step_gain(critic: nn.Module, *, lr: float, weight: float = 1.0) -> float:
    """``lr·weight·max_s ‖∇_θ v(s)‖²``: how far one TD step moves the value it is taken at.

    A gradient step on ``½·weight·(v(s) − target)²`` changes ``v(s)`` by about this factor times
    the error: above 2 it overshoots the target by more than the error itself, and far above 2
    the iteration blows up by step-size instability, whatever the TD dynamics would do with a
    small step.
    """
    if lr <= 0 or weight < 0:
        raise ValueError("lr must be positive and weight non-negative")
    phi = baird_features(next(critic.parameters()).dtype)
    largest = 0.0
    for state in range(NUM_STATES):
        critic.zero_grad(set_to_none=True)
        critic(phi[state: state + 1]).sum().backward()
        squared = sum(float((p.grad ** 2).sum()) for p in critic.parameters() if p.grad is not None)
        largest = max(largest, squared)
    critic.zero_grad(set_to_none=True)
    return lr * weight * largest
