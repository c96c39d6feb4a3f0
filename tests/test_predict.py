import math

import numpy as np
import pytest

from seemrepro.core.predict import (
    adam_growth,
    first_crossing,
    first_crossing_or_none,
    fit_line,
    forecast_singular_step,
    forecast_singular_step_crashed,
    forecast_singular_step_relative,
    is_nondecreasing,
    level_window,
    predict_singular_step,
    seem_predicts,
    singular_step_tradeoff,
)


def test_singular_step_of_exact_hyperbola() -> None:
    t = np.arange(0, 100.0)
    q = 1.0 / (1 - t / 120.0)  # L=2: 1/Q linear, zero at 120
    p = predict_singular_step(t, q, depth=2, window=(40, 80))
    assert p.step == pytest.approx(120.0)
    assert p.lead(80) == pytest.approx(40.0)


def test_singular_step_depth_three_uses_four_thirds() -> None:
    t = np.arange(0, 100.0)
    q = (1 - t / 150.0) ** -0.75  # L=3: ‖u‖ ~ (1 - ct)^{-L/(2L-2)}
    assert predict_singular_step(t, q, depth=3, window=(10, 90)).step == pytest.approx(150.0)


def test_rising_inverse_predicts_no_singularity() -> None:
    t = np.arange(10.0)
    assert math.isinf(predict_singular_step(t, 1.0 / (1 + t), depth=2, window=(0, 9)).step)


def test_window_errors() -> None:
    t = np.arange(10.0)
    with pytest.raises(ValueError, match="outside"):
        predict_singular_step(t, t + 1, depth=2, window=(5, 20))
    with pytest.raises(ValueError):
        predict_singular_step(t, t + 1, depth=2, window=(5, 5))
    with pytest.raises(ValueError):
        predict_singular_step(t, t + 1, depth=1, window=(0, 5))
    with pytest.raises(ValueError, match="positive"):
        predict_singular_step(t, t - 5, depth=2, window=(0, 9))
    with pytest.raises(ValueError):
        fit_line([1.0], [2.0])


def test_level_window_is_first_crossings() -> None:
    t = np.arange(10)
    v = np.array([1, 2, 5, 3, 8, 20, 50, 60, 70, 90.0])
    assert first_crossing(t, v, 5) == 2
    assert level_window(t, v, (5, 50)) == (2, 6)
    with pytest.raises(ValueError):
        level_window(t, v, (5, 500))


def test_first_crossing_at_a_value_equal_to_the_level() -> None:
    t = np.array([0.0, 10, 20, 30])
    v = np.array([1.0, 5.0, 7.0, 9.0])
    assert first_crossing(t, v, 5) == 10  # reaches: >=
    assert first_crossing(t, v, 5, strict=True) == 20  # exceeds: >
    assert first_crossing_or_none(t, v, 5) == 10
    assert first_crossing_or_none(t, v, 5, strict=True) == 20


def test_no_crossing_is_none_or_an_error() -> None:
    t, v = np.arange(4.0), np.array([1.0, 2.0, 3.0, 3.0])
    assert first_crossing_or_none(t, v, 3) == 2
    assert first_crossing_or_none(t, v, 3, strict=True) is None
    with pytest.raises(ValueError, match="never exceed 3"):
        first_crossing(t, v, 3, strict=True)
    with pytest.raises(ValueError, match="never reach 4"):
        first_crossing(t, v, 4)


def test_crossing_of_a_diverged_record() -> None:
    t = np.arange(4.0)
    assert first_crossing_or_none(t, [1.0, math.nan, 2.0, math.inf], 1.5, strict=True) == 2
    assert first_crossing_or_none(t, [1.0, math.nan, 1.0, math.inf], 1e9, strict=True) == 3
    with pytest.raises(ValueError, match="finite"):
        first_crossing(t, [1.0, math.nan, 2.0, math.inf], 1.5)


def test_forecast_sees_only_the_window_and_scores_against_the_event() -> None:
    t = np.arange(0, 120.0)
    u = 1.0 / (1 - t / 120.0)  # L=2: 1/‖u‖ linear, zero at 120
    u[100:] = 1e9  # later records cannot change the forecast
    f = forecast_singular_step(t, u, depth=2, levels=(2.0, 4.0), observed=100)
    assert f.window == (60, 90)  # 1/(1 - t/120) first reaches 2 at t=60 and 4 at t=90
    assert f.prediction.window == (60.0, 90.0)
    assert f.prediction.step == pytest.approx(120.0)
    assert f.lead == 10
    assert f.error_percent == pytest.approx(20.0)
    with pytest.raises(ValueError, match="positive"):
        forecast_singular_step(t, u, depth=2, levels=(2.0, 4.0), observed=0)
    with pytest.raises(ValueError):
        forecast_singular_step(t, u, depth=2, levels=(2.0, 1e10), observed=100)


def test_adam_growth_recovers_slope_and_exponent() -> None:
    t = np.arange(1, 2001.0)
    lr, p = 1e-3, 400
    norm = lr * math.sqrt(p) * (t + 100)
    q = norm**3
    g = adam_growth(t, norm, q, t0=1000, lr=lr, num_params=p, depth=3)
    assert g.slope_ratio == pytest.approx(1.0)
    assert g.q_loglog_slope_shifted == pytest.approx(3.0)
    assert g.q_loglog_slope < 3.0
    with pytest.raises(ValueError):
        adam_growth(t, norm, q, t0=5000, lr=lr, num_params=p, depth=3)


def test_seem_prediction_and_monotonicity() -> None:
    v = seem_predicts([0, 50], [0.3, 2.0], step=50, diverged_at=200)
    assert v.predicts_divergence and v.correct
    assert not seem_predicts([0, 50], [0.3, -1e-5], step=50, diverged_at=None).predicts_divergence
    with pytest.raises(ValueError):
        seem_predicts([0, 50], [0.3, 2.0], step=50, diverged_at=40)
    with pytest.raises(ValueError):
        seem_predicts([0, 50], [0.3, 2.0], step=25, diverged_at=None)
    assert is_nondecreasing([-1e-5, -2e-5, 1.0], tolerance=1e-4)
    assert not is_nondecreasing([1.0, 0.5])


def test_forecast_with_levels_relative_to_the_initial_value() -> None:
    t = np.arange(0, 121.0)
    # ‖u_0‖ = 3: the multiples 2 and 4 are the levels 6 and 12; the crash record is non-finite
    u = np.append(3.0 / (1 - t[:-1] / 120.0), math.inf)
    f = forecast_singular_step_relative(t, u, depth=2, multiples=(2.0, 4.0), observed=120)
    assert f.window == (60, 90)
    assert f.prediction.step == pytest.approx(120.0)
    assert f.lead == 30 and f.lead_fraction == pytest.approx(0.25)
    assert f.error_percent == pytest.approx(0.0, abs=1e-9)
    # the null predictor says "now" at the window's end: 25% early, failing a 2% test
    assert f.null_error_percent == pytest.approx(-25.0)
    with pytest.raises(ValueError, match="first value"):
        forecast_singular_step_relative([0, 1], [math.nan, 1.0], depth=2, multiples=(2, 4),
                                        observed=1)


def test_tradeoff_is_exact_on_a_hyperbola_and_early_on_a_convex_curve() -> None:
    t = np.arange(0, 201.0)
    hyperbola = np.append(1.0 / (1 - t[:-1] / 200.0), math.nan)
    leads, errors = singular_step_tradeoff(t, hyperbola, depth=2, observed=200,
                                           lead_fractions=[0.1, 0.3])
    assert leads == pytest.approx([0.1, 0.3])
    assert errors == pytest.approx([0.0, 0.0], abs=1e-9)
    # exponential growth first, then the law: 1/u is convex, earlier windows predict earlier
    convex = np.append(np.exp(t[:-1] / 40.0) / (1 - t[:-1] / 200.0), math.inf)
    _, errors = singular_step_tradeoff(t, convex, depth=2, observed=200,
                                       lead_fractions=[0.05, 0.15, 0.3])
    assert errors[0] > errors[1] > errors[2] and errors[2] < -2
    with pytest.raises(ValueError):
        singular_step_tradeoff(t, hyperbola, depth=2, observed=200, lead_fractions=[0.1],
                               window_fraction=0.0)


def test_forecast_with_absolute_levels_drops_the_crash_and_sees_only_the_window() -> None:
    t = np.arange(0, 101.0)
    # a mean Q that starts below zero, then follows 1/Q = (100 - t)/50 for t >= 20; NaN at 100
    q = np.where(t < 20, -0.5 + t / 20 * (50 / 80 + 0.5), 50.0 / (100 - np.minimum(t, 99)))
    q[-1] = math.nan
    f = forecast_singular_step_crashed(t, q, depth=2, levels=(1.0, 2.0), observed=100)
    assert f.window == (50, 75)
    assert f.prediction.step == pytest.approx(100.0)
    assert f.lead == 25 and f.null_error_percent == pytest.approx(-25.0)
    # what follows the window's end cannot change the prediction
    late = q.copy()
    late[76:-1] *= 3
    g = forecast_singular_step_crashed(t, late, depth=2, levels=(1.0, 2.0), observed=100)
    assert g.prediction.step == f.prediction.step
    with pytest.raises(ValueError):
        forecast_singular_step_crashed(t, q, depth=2, levels=(1.0, 1e9), observed=100)


def test_a_forecast_summary_row_scores_the_papers_test() -> None:
    from seemrepro.core.predict import (
        LineFit,
        SingularStepForecast,
        SingularStepPrediction,
    )

    # a line reaching zero at step 600, seen up to step 500, crash observed at 605
    prediction = SingularStepPrediction(2, 1.0, (450.0, 500.0), LineFit(-0.01, 6.0, 0.999))
    f = SingularStepForecast(prediction, (450, 500), 605)
    row = f.summary(lead_min=0.15, error_max=2.0)
    assert row["window"] == "450–500" and row["lead"] == 105 and row["meets both"] is True
    assert f.meets(lead_min=0.2, error_max=2.0) is False  # 105/605 is below a 20% lead
    assert f.meets(lead_min=0.15, error_max=0.5) is False  # 600 is 0.83% early
