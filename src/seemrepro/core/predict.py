"""Predictions of divergence events from data recorded before them (Sec. 3.2 of the paper).

Every function here sees only the arrays it is given, so a caller that passes a trace truncated
before the event cannot leak the event into the prediction.

* Singular step under SGD (Theorem 3): ``‖u_t‖^{-(2L-2)/L}`` falls linearly after the critical
  point; the zero of a line fitted on a window predicts the step where Q becomes infinite.
* Adam growth (Theorem 4): ``‖θ_t‖`` grows linearly with slope ``η·sqrt(P)`` and Q like ``t^L``.
* SEEM sign (Theorem 3): a positive SEEM predicts divergence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seemrepro.core.checks import loglog_slope

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class LineFit:
    """Least-squares line ``y ≈ slope·x + intercept`` with its coefficient of determination."""

    slope: float
    intercept: float
    r_squared: float

    def __call__(self, x: ArrayLike | float) -> np.ndarray:
        return self.slope * np.asarray(x, dtype=float) + self.intercept

    @property
    def root(self) -> float:
        """Where the line crosses zero (infinite for a flat line)."""
        return -self.intercept / self.slope if self.slope != 0 else math.inf


def _paired(x: ArrayLike, y: ArrayLike, *, min_points: int = 2, finite_y: bool = True
            ) -> tuple[np.ndarray, np.ndarray]:
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x_arr.ndim != 1 or x_arr.shape != y_arr.shape:
        raise ValueError(f"x and y must be 1-D of equal length, got {x_arr.shape}, {y_arr.shape}")
    if x_arr.size < min_points:
        raise ValueError(f"need at least {min_points} points, got {x_arr.size}")
    if not (np.all(np.isfinite(x_arr)) and (not finite_y or np.all(np.isfinite(y_arr)))):
        raise ValueError("x and y must be finite" if finite_y else "x must be finite")
    return x_arr, y_arr


def fit_line(x: ArrayLike, y: ArrayLike) -> LineFit:
    """Ordinary least squares of ``y`` on ``x`` (at least two distinct ``x``)."""
    x_arr, y_arr = _paired(x, y)
    if np.ptp(x_arr) == 0:
        raise ValueError("x must take at least two distinct values")
    slope, intercept = np.polyfit(x_arr, y_arr, 1)
    residual = y_arr - (slope * x_arr + intercept)
    total = float(np.sum((y_arr - y_arr.mean()) ** 2))
    r_squared = 1.0 - float(np.sum(residual**2)) / total if total > 0 else 1.0
    return LineFit(float(slope), float(intercept), r_squared)


def select_window(steps: ArrayLike, values: ArrayLike, window: tuple[float, float]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The points with ``window[0] <= step <= window[1]``; the window must lie inside the data."""
    t, y = _paired(steps, values, min_points=1)
    start, end = window
    if not start < end:
        raise ValueError(f"window start {start} must be before its end {end}")
    if start < t.min() or end > t.max():
        raise ValueError(f"window {window} lies outside the recorded steps [{t.min():g}, {t.max():g}]")
    mask = (t >= start) & (t <= end)
    if mask.sum() < 2:
        raise ValueError(f"window {window} holds fewer than two points")
    return t[mask], y[mask]


def first_crossing_or_none(steps: ArrayLike, values: ArrayLike, level: float, *,
                           strict: bool = False) -> int | None:
    """The first step whose value reaches ``level`` (``value >= level``), or exceeds it with
    ``strict`` (``value > level``); ``None`` when no value does. An online rule: it looks at no
    later data.

    Values may be non-finite, as a monitored run records them at its divergence: NaN never
    crosses a level, +inf crosses every one.
    """
    t, y = _paired(steps, values, min_points=1, finite_y=False)
    hits = np.nonzero(y > level if strict else y >= level)[0]
    return int(t[hits[0]]) if hits.size else None


def first_crossing(steps: ArrayLike, values: ArrayLike, level: float, *,
                   strict: bool = False) -> int:
    """:func:`first_crossing_or_none` for finite values that must cross: raises otherwise."""
    _paired(steps, values, min_points=1)
    step = first_crossing_or_none(steps, values, level, strict=strict)
    if step is None:
        raise ValueError(f"values never {'exceed' if strict else 'reach'} {level:g}")
    return step


def singular_exponent(depth: int) -> float:
    """``(2L-2)/L``: the power of ``1/‖u‖`` that Theorem 3 says falls linearly in time."""
    if depth < 2:
        raise ValueError(f"depth L must be at least 2 for a finite-time singularity, got {depth}")
    return (2 * depth - 2) / depth


@dataclass(frozen=True)
class SingularStepPrediction:
    """The fitted line of ``1/value^p`` against the step, and the step where it reaches zero."""

    depth: int
    exponent: float
    window: tuple[float, float]
    fit: LineFit

    @property
    def step(self) -> float:
        """Predicted singular step; infinite when the fitted line does not fall."""
        return self.fit.root if self.fit.slope < 0 else math.inf

    def lead(self, last_seen_step: float) -> float:
        """How many steps ahead of the last step used the prediction points."""
        return self.step - last_seen_step


def predict_singular_step(steps: ArrayLike, values: ArrayLike, *, depth: int,
                          window: tuple[float, float]) -> SingularStepPrediction:
    """Theorem 3 under SGD: fit ``values^{-(2L-2)/L}`` linearly in ``window`` and find its zero.

    ``values`` is a positive measure of the blow-up (``‖u_t‖`` or ``max |Q|``); L=2 fits
    ``1/Q``, L=3 fits ``1/Q^{4/3}``.
    """
    exponent = singular_exponent(depth)
    t, y = select_window(steps, values, window)
    if np.any(y <= 0):
        raise ValueError("values must be positive inside the window")
    return SingularStepPrediction(depth, exponent, (float(window[0]), float(window[1])),
                                  fit_line(t, y ** -exponent))


@dataclass(frozen=True)
class AdamGrowth:
    """Theorem 4: the norm's slope against ``η·sqrt(P)`` and the log-log slope of Q against t.

    ``q_loglog_slope`` uses the raw step count; ``q_loglog_slope_shifted`` measures time from
    ``norm_fit.root``, the step where the fitted norm line extrapolates to zero, which is the
    clock on which ``Q ∝ ‖θ‖^L ∝ t^L`` holds exactly for a homogeneous network.
    """

    norm_fit: LineFit
    expected_slope: float
    q_loglog_slope: float
    q_loglog_slope_shifted: float
    depth: int

    @property
    def slope_ratio(self) -> float:
        return self.norm_fit.slope / self.expected_slope

    @property
    def exponent_ratio(self) -> float:
        return self.q_loglog_slope_shifted / self.depth


def adam_growth(steps: ArrayLike, param_norm: ArrayLike, q: ArrayLike, *, t0: float, lr: float,
                num_params: int, depth: int) -> AdamGrowth:
    """Fit ``‖θ_t‖`` linearly and ``log Q`` against ``log t`` on the steps ``t >= t0``."""
    if lr <= 0 or num_params <= 0 or depth < 1:
        raise ValueError("lr, num_params and depth must be positive")
    t, norm = _paired(steps, param_norm)
    _, q_arr = _paired(steps, q)
    if not t.min() <= t0 < t.max():
        raise ValueError(f"t0={t0} lies outside the recorded steps [{t.min():g}, {t.max():g})")
    mask = t >= t0
    if mask.sum() < 2:
        raise ValueError(f"fewer than two steps after t0={t0}")
    if t0 <= 0:
        raise ValueError("t0 must be positive so that log t is defined")
    norm_fit = fit_line(t[mask], norm[mask])
    if norm_fit.slope <= 0 or norm_fit.root >= t0:
        raise ValueError("the parameter norm does not grow after t0")
    q_abs = np.abs(q_arr[mask])
    return AdamGrowth(norm_fit, lr * math.sqrt(num_params), loglog_slope(t[mask], q_abs),
                      loglog_slope(t[mask] - norm_fit.root, q_abs), depth)


@dataclass(frozen=True)
class SeemVerdict:
    """SEEM at one early step, the divergence it predicts and what the run did."""

    seem: float
    measured_at: int
    diverged: bool

    @property
    def predicts_divergence(self) -> bool:
        return self.seem > 0

    @property
    def correct(self) -> bool:
        return self.predicts_divergence == self.diverged


def seem_at_step(seem_steps: ArrayLike, seem_values: ArrayLike, step: int) -> float:
    """The SEEM recorded at ``step`` (it must have been recorded)."""
    t, v = _paired(seem_steps, seem_values, min_points=1)
    hits = np.nonzero(t == step)[0]
    if hits.size == 0:
        raise ValueError(f"no SEEM recorded at step {step}")
    return float(v[hits[0]])


def seem_predicts(seem_steps: ArrayLike, seem_values: ArrayLike, *, step: int,
                  diverged_at: int | None) -> SeemVerdict:
    """Theorem 3's prediction from SEEM at ``step``, scored against the run's outcome.

    The step must come before the divergence, or the "prediction" would have seen the event.
    """
    if diverged_at is not None and step >= diverged_at:
        raise ValueError(f"SEEM at step {step} is not before the divergence at {diverged_at}")
    return SeemVerdict(seem_at_step(seem_steps, seem_values, step), step, diverged_at is not None)


def is_nondecreasing(values: ArrayLike, *, tolerance: float = 0.0) -> bool:
    """Each value is at least the previous one minus ``tolerance``."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2:
        raise ValueError("need a 1-D sequence of at least two values")
    return bool(np.all(np.diff(v) >= -tolerance))


def level_window(steps: ArrayLike, values: ArrayLike, levels: tuple[float, float]
                 ) -> tuple[int, int]:
    """The steps where ``values`` first reach ``levels[0]`` and then ``levels[1]``.

    Both are online rules: the window is known as soon as its last step has been recorded.
    """
    low, high = levels
    if not 0 < low < high:
        raise ValueError(f"levels must satisfy 0 < low < high, got {levels}")
    return first_crossing(steps, values, low), first_crossing(steps, values, high)


@dataclass(frozen=True)
class SingularStepForecast:
    """A singular step predicted from a level window, scored against the observed event."""

    prediction: SingularStepPrediction
    window: tuple[int, int]
    observed: int

    @property
    def lead(self) -> int:
        """Steps from the last one the predictor saw (the window's end) to the observed event."""
        return self.observed - self.window[1]

    @property
    def error_percent(self) -> float:
        """``100·(predicted - observed)/observed``: negative when the prediction comes early."""
        return 100 * (self.prediction.step - self.observed) / self.observed


def forecast_singular_step(steps: ArrayLike, values: ArrayLike, *, depth: int,
                           levels: tuple[float, float], observed: int) -> SingularStepForecast:
    """Theorem 3's singular step, predicted online from ``values = ‖u_t‖`` and scored.

    The window ``[t_low, t_high]`` runs from the first step with ``‖u_t‖ >= levels[0]`` to the
    first with ``‖u_t‖ >= levels[1]`` (:func:`level_window`). Only the record up to ``t_high``
    reaches :func:`predict_singular_step`, which fits ``‖u_t‖^{-(2L-2)/L} ≈ a·t + b`` on the
    window and predicts ``t* = -b/a``. ``observed`` (the step where the run diverged) is used
    only for the score: lead ``observed - t_high`` and error ``100·(t* - observed)/observed`` %.
    """
    if observed <= 0:
        raise ValueError(f"the observed step must be positive, got {observed}")
    t, y = _paired(steps, values, min_points=1)
    window = level_window(t, y, levels)
    seen = t <= window[1]  # nothing after the window's end
    prediction = predict_singular_step(t[seen], y[seen], depth=depth, window=window)
    return SingularStepForecast(prediction, window, observed)
