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


def value_at_or_before(steps: ArrayLike, values: ArrayLike, step: float) -> float:
    """The value recorded at the last step ``<= step`` (NaN when nothing is recorded that
    early). A run stopped at divergence keeps its last value for every later step."""
    t, y = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"steps and values must be 1-D of equal length, got {t.shape}, {y.shape}")
    early = np.nonzero(t <= step)[0]
    return float(y[early[np.argmax(t[early])]]) if early.size else math.nan


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


def slope_ratio_by_window_end(steps: ArrayLike, param_norm: ArrayLike, q: ArrayLike, *,
                              ends: Sequence[int], lr: float, num_params: int, depth: int
                              ) -> list[float]:
    """The slope ratio of :func:`adam_growth` on the second half ``[end/2, end]`` of the record
    cut at each of ``ends``: how the norm's slope approaches η√P as a run gets longer."""
    t, norm = _paired(steps, param_norm)
    _, q_arr = _paired(steps, q)
    ratios = []
    for end in ends:
        kept = t <= end
        ratios.append(adam_growth(t[kept], norm[kept], q_arr[kept], t0=end / 2, lr=lr,
                                  num_params=num_params, depth=depth).slope_ratio)
    return ratios


def adam_lag_slope_ratio(depth: int, betas: tuple[float, float], start: float, end: float,
                         *, points: int = 129) -> float:
    """Adam's mean step per coordinate, in units of η, on ``[start, end]`` for a growing gradient.

    While Q grows like ``t^L`` every gradient coordinate grows like ``t^k`` with ``k = 2L − 1``
    (TD error ``∝ t^L`` times ``∂Q/∂θ ∝ t^(L−1)``). Adam's bias-corrected averages of such a
    sequence trail it (by about ``β/(1−β)`` steps), so its step ``m̂/sqrt(v̂)`` exceeds 1 by
    about ``k·(β2/(1−β2) − β1/(1−β1))/t``. This evaluates ``m̂/sqrt(v̂)`` exactly for
    ``g_t = t^k`` (``t = 1, 2, ...``, ε neglected) on ``points`` steps spread over the window and
    returns their mean: the slope of ‖θ‖ over η·sqrt(P) expected from the lag alone.
    """
    beta1, beta2 = betas
    if depth < 1 or not (0 <= beta1 < 1 and 0 <= beta2 < 1) or not 1 <= start < end:
        raise ValueError("need depth >= 1, betas in [0, 1) and 1 <= start < end")
    power = 2 * depth - 1
    # beyond this many steps back both averages' weights are below e^-40
    horizon = int(40 / -math.log(max(beta1, beta2, 0.5))) + 1
    ratios = []
    for t in np.unique(np.linspace(start, end, points).round()):
        lags = np.arange(min(int(t), horizon), dtype=float)
        relative = (1.0 - lags / t) ** power  # g_{t-j} / g_t
        first = np.sum((1 - beta1) * beta1 ** lags * relative) / (1 - beta1 ** t)
        second = np.sum((1 - beta2) * beta2 ** lags * relative ** 2) / (1 - beta2 ** t)
        ratios.append(first / math.sqrt(second))
    return float(np.mean(ratios))


def full_speed_coordinates(initial: ArrayLike, final: ArrayLike, *, lr: float, steps: int,
                           fraction: float = 0.5) -> int:
    """How many parameters moved by at least ``fraction·η·steps`` over a run of ``steps``.

    Theorem 4's ``sqrt(P)`` counts every coordinate as moving by η per step. A coordinate that
    gets no gradient (e.g. a weight of a bias-free ReLU unit inactive on every input) does not
    move under Adam at all, so the norm grows like ``η·sqrt(P_moving)·t``; after a long run the
    displacements split into about ``η·steps`` and nearly 0, and this counts the first group.
    """
    start, end = _paired(initial, final, min_points=1)
    if lr <= 0 or steps <= 0 or not 0 < fraction <= 1:
        raise ValueError("lr and steps must be positive and fraction in (0, 1]")
    return int(np.sum(np.abs(end - start) >= fraction * lr * steps))


@dataclass(frozen=True)
class SeemVerdict:
    """SEEM at one early step, the divergence it predicts and what the run did.

    SEEM predicts divergence when it exceeds ``zero_tolerance``: an eigenvalue of ``A`` that is
    zero in exact arithmetic (a direction of ``u`` the network cannot move) comes out of the
    eigensolver as a tiny number of either sign.
    """

    seem: float
    measured_at: int
    diverged: bool
    zero_tolerance: float = 0.0

    @property
    def predicts_divergence(self) -> bool:
        return self.seem > self.zero_tolerance

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
                  diverged_at: int | None, zero_tolerance: float = 0.0) -> SeemVerdict:
    """Theorem 3's prediction from SEEM at ``step``, scored against the run's outcome.

    The step must come before the divergence, or the "prediction" would have seen the event.
    """
    if diverged_at is not None and step >= diverged_at:
        raise ValueError(f"SEEM at step {step} is not before the divergence at {diverged_at}")
    if zero_tolerance < 0:
        raise ValueError(f"zero_tolerance must be non-negative, got {zero_tolerance}")
    return SeemVerdict(seem_at_step(seem_steps, seem_values, step), step, diverged_at is not None,
                       zero_tolerance)


@dataclass(frozen=True)
class CriticalPoint:
    """Where the direction of ``A`` became stable: ``t0``, and the step at which that is known."""

    t0: int
    known_at: int


def critical_point(steps: ArrayLike, direction_cosine: ArrayLike, *, level: float,
                   stretch: int) -> CriticalPoint | None:
    """The first measurement that starts ``stretch`` consecutive ones whose direction cosine
    (with the measurement before) is at least ``level``; ``None`` if there is no such stretch.

    An online rule: the critical point is known at the last measurement of the stretch
    (``known_at``), and nothing later is looked at. NaN (the first measurement has no
    predecessor) never counts as stable.
    """
    if stretch < 1:
        raise ValueError(f"stretch must be at least 1, got {stretch}")
    if not 0 < level <= 1:
        raise ValueError(f"level must lie in (0, 1], got {level}")
    t, c = _paired(steps, direction_cosine, min_points=1, finite_y=False)
    stable = np.nan_to_num(c, nan=-np.inf) >= level
    run = 0
    for index, ok in enumerate(stable):
        run = run + 1 if ok else 0
        if run == stretch:
            return CriticalPoint(int(t[index - stretch + 1]), int(t[index]))
    return None


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
    def lead_fraction(self) -> float:
        """The lead as a fraction of the observed step (the paper's: 105/605 ≈ 0.17)."""
        return self.lead / self.observed

    @property
    def error_percent(self) -> float:
        """``100·(predicted - observed)/observed``: negative when the prediction comes early."""
        return 100 * (self.prediction.step - self.observed) / self.observed

    @property
    def null_error_percent(self) -> float:
        """The error of the null predictor "the crash is now", which predicts the window's last
        step: ``-100·lead/observed``. A check that it passes cannot tell a line from nothing."""
        return 100 * (self.window[1] - self.observed) / self.observed

    def meets(self, *, lead_min: float, error_max: float) -> bool:
        """The paper's test: a lead of at least ``lead_min`` (fraction of the observed step)
        and a predicted step within ``error_max`` percent."""
        return self.lead_fraction >= lead_min and abs(self.error_percent) <= error_max

    def summary(self, *, lead_min: float, error_max: float) -> dict[str, object]:
        """One table row: window, prediction, lead, errors, fit quality and the test's result."""
        return {"window": f"{self.window[0]}–{self.window[1]}", "predicted": self.prediction.step,
                "lead": self.lead, "lead %": 100 * self.lead_fraction,
                "error %": self.error_percent, "null error %": self.null_error_percent,
                "fit R²": self.prediction.fit.r_squared,
                "meets both": self.meets(lead_min=lead_min, error_max=error_max)}


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


def _finite_prefix(steps: ArrayLike, values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The record before its first non-finite value (a crashed run ends with one)."""
    t, y = _paired(steps, values, min_points=1, finite_y=False)
    bad = np.nonzero(~np.isfinite(y))[0]
    end = int(bad[0]) if bad.size else y.size
    if end == 0:
        raise ValueError("the first value is not finite")
    return t[:end], y[:end]


def forecast_singular_step_relative(steps: ArrayLike, values: ArrayLike, *, depth: int,
                                    multiples: tuple[float, float], observed: int
                                    ) -> SingularStepForecast:
    """:func:`forecast_singular_step` with levels ``multiples × values[0]``: the window runs
    from the first step with ``‖u_t‖ >= multiples[0]·‖u_0‖`` to the first with
    ``‖u_t‖ >= multiples[1]·‖u_0‖``, an online rule that ignores the scale of the run."""
    t, y = _finite_prefix(steps, values)
    if not 0 < y[0]:
        raise ValueError(f"the initial value must be positive, got {y[0]}")
    low, high = multiples
    return forecast_singular_step(t, y, depth=depth, levels=(low * y[0], high * y[0]),
                                  observed=observed)


def forecast_singular_step_crashed(steps: ArrayLike, values: ArrayLike, *, depth: int,
                                   levels: tuple[float, float], observed: int
                                   ) -> SingularStepForecast:
    """:func:`forecast_singular_step` with absolute ``levels`` on a record that may end with its
    crash: the record from its first non-finite value on is dropped first. For a value such as
    the mean Q, which starts near or below zero, where multiples of the initial value mean
    nothing."""
    t, y = _finite_prefix(steps, values)
    return forecast_singular_step(t, y, depth=depth, levels=levels, observed=observed)


def singular_step_tradeoff(steps: ArrayLike, values: ArrayLike, *, depth: int, observed: int,
                           lead_fractions: ArrayLike, window_fraction: float = 0.1
                           ) -> tuple[np.ndarray, np.ndarray]:
    """The error of the singular-step line against how early its window ends.

    For each lead fraction ``f`` the window is ``[e - window_fraction·observed, e]`` with
    ``e = round((1 - f)·observed)``, fitted on the record up to ``e`` only. Placing the windows
    uses the observed step, so this is a diagnostic of how far ahead the line *could* see, not
    a prediction. Returns the realized lead fractions ``(observed - e)/observed`` and the
    errors ``100·(t* - observed)/observed`` (+inf where the fitted line does not fall).
    """
    if observed <= 0 or not 0 < window_fraction < 1:
        raise ValueError("observed must be positive and window_fraction in (0, 1)")
    t, y = _finite_prefix(steps, values)
    leads, errors = [], []
    for fraction in np.asarray(lead_fractions, dtype=float):
        end = round((1 - fraction) * observed)
        start = round(end - window_fraction * observed)
        seen = t <= end
        prediction = predict_singular_step(t[seen], y[seen], depth=depth, window=(start, end))
        leads.append((observed - end) / observed)
        errors.append(100 * (prediction.step - observed) / observed)
    return np.asarray(leads), np.asarray(errors)
