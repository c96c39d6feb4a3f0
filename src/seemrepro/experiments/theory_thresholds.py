"""The thresholds of the theory chapters' verdicts (T1-T7), beside the paper's own figures.

One tuple per claim; :mod:`seemrepro.experiments.claims` attaches each to its
:class:`~seemrepro.experiments.spec.Claim` and the chapters read the values with
``get_claim(id).threshold(name)``. The toy part of T6 shares claim T6 with the offline
chapter, so its names start with ``toy_``.
"""

from __future__ import annotations

from seemrepro.experiments.spec import Threshold

_DIVERGENCE_PAPER = "Q above 1e6 counts as diverged (Fig. 3 caption)"

T1_THRESHOLDS = (
    Threshold("error_slope_tolerance", 0.2,
              "|log-log slope of ‖Δu − ηA_t u‖ against η, minus 2| ≤ value",
              "one-step error O(η²), a slope of 2 (Theorem 1)",
              "±10% of the exponent: far tighter than the gap to the neighbouring orders 1 and "
              "3, loose enough for a slope fitted on a handful of learning rates."),
    Threshold("change_slope_tolerance", 0.05,
              "|log-log slope of ‖Δu‖ against η, minus 1| ≤ value",
              "Δu = ηA_t u_t, first order in η (Theorem 1)",
              "The first-order change dominates its O(η²) correction by orders of magnitude in "
              "the fit window, so its slope must be 1 to within 5%."),
    Threshold("fit_points_min", 4,
              "at least value learning rates in the fit window",
              "none (Theorem 1 states a limit η → 0, no fit)",
              "A slope fitted to fewer than four points is not a measurement of a power law."),
    Threshold("fit_step_max", 10 ** -3.5,
              "fit window: steps with η·‖A_t‖₂ ≤ value (10^-3.5)",
              "none (Theorem 1 holds as η → 0; the paper gives no range)",
              "Above it some ReLU units change their activation pattern during the step, so the "
              "expansion behind the theorem no longer applies."),
    Threshold("roundoff_margin", 100,
              "fit window: steps whose prediction error exceeds value × ε_float64 × ‖u‖",
              "none (the paper gives no range)",
              "Below about this level the error is float64 round-off of u, not the η² term."),
)

T2_THRESHOLDS = (
    Threshold("divergence_level", 1e6,
              "the critic must reach max |Q| above value (it has diverged) before the check",
              _DIVERGENCE_PAPER + "; Table 3 uses a D4RL checkpoint taken at divergence",
              "The paper's own divergence level."),
    Threshold("power_law_tolerance", 0.01,
              "worst relative deviation over inputs of output, gradient and NTK ratios from "
              "λ^L, λ^(L−1), λ^(2(L−1)) < value, for λ = 5 and 10",
              "Table 3: 124.99 (5³), 999.78 (10³), 25.001, 100.001, 624.99, 9999.84, all "
              "within 0.03%",
              "Our critic comes from a short toy run, not a D4RL checkpoint, and the verdict "
              "takes the worst of 100 inputs, not one example: 1% instead of the paper's "
              "0.03%. A fresh critic misses it by far."),
    Threshold("ntk_cosine_gap_max", 1e-4,
              "cosine between the NTK at θ and at λθ > 1 − value, for λ = 5 and 10",
              "NTK cos 1 − 1e-6 (Table 3)",
              "The NTK's direction must not change; looser than the paper's 1e-6 because our "
              "diverged critic comes from a short toy run, not a D4RL checkpoint."),
    Threshold("fresh_deviation_min", 0.1,
              "a freshly initialized critic's worst deviation must exceed value (the check can "
              "fail)",
              "none (the paper shows no untrained critic)",
              "Ten times the tolerance for the diverged critic, so the control is far from the "
              "pass region."),
)

T3_THRESHOLDS = (
    Threshold("corner_ratio_min", 1.0,
              "without LayerNorm, k(x0, (4,4)) / k(x0, x0) > value",
              "≈ 4.5× at (4,4) without LayerNorm (Fig. 5)",
              "The value depends on the random initialization; the claim is that the far point "
              "is linked more strongly than x0 itself, i.e. a ratio above 1."),
    Threshold("ln_corner_ratio_max", 1.0,
              "with LayerNorm, k(x0, (4,4)) / k(x0, x0) < value",
              "with LayerNorm the map peaks at x0 and decays (Fig. 5)",
              "A kernel that peaks at x0 is below its value at x0 everywhere else."),
    Threshold("peak_distance_cells_max", 2,
              "with LayerNorm, the map's maximum lies within value grid spacings of x0",
              "with LayerNorm the map peaks at x0 = (0.1, 0.2) (Fig. 5)",
              "x0 is not a grid point (the nearest one can be √2/2 spacings away); two "
              "spacings let the peak sit on a neighbouring grid point, not anywhere else."),
    Threshold("far_lambda_min", 100,
              "the growth order of k(x0, λx0) is fitted on λ ≥ value",
              "none (Props. 1-2 are statements for large λ)",
              "The asymptotic regime of both propositions; closer in, the curve has not yet "
              "reached its limiting slope."),
    Threshold("linear_slope_tolerance", 0.1,
              "without LayerNorm, |log-log slope of |k(x0, λx0)| against λ, minus 1| ≤ value",
              "k(x, λx) grows linearly in λ (Prop. 1)",
              "±10% of the exponent separates linear growth from bounded or quadratic growth."),
    Threshold("bounded_slope_max", 0.1,
              "with LayerNorm, |log-log slope of |k(x0, λx0)| against λ| ≤ value",
              "k(x, x + λv) stays bounded (Prop. 2)",
              "A bounded kernel has slope 0 for large λ; the same margin as the linear case."),
    Threshold("paper_ratio_relative_tolerance", 0.15,
              "without LayerNorm, |mean over seeds of k(x0, (4,4)) / k(x0, x0) ÷ 4.5 − 1| ≤ "
              "value for the paper's figure to count as reproduced (reported, not asserted)",
              "≈ 4.5× at (4,4) without LayerNorm (Fig. 5)",
              "The paper writes '~4.5×' with no spread; ±15% covers rounding of a value "
              "between about 4 and 5 and a different initialization draw.",
              changed_after_runs="Added when seed 0's ratio (3.16) was already known; it "
              "misses by more than any tolerance up to 30%, so the choice does not decide "
              "the outcome."),
)

T4_THRESHOLDS = (
    Threshold("lead_fraction_min", 0.15,
              "the fit window must end at least value × (observed crash step) steps before the "
              "crash: lead = crash − window end ≥ value × crash",
              "a fit on steps 450-500 predicted 605: the window ended 105 steps (17% of the "
              "run) before the NaN (Fig. 2)",
              "Just under the paper's own 17%, fixed before any run; a prediction a few percent "
              "of the run ahead is within reach of a predictor that says 'the crash is now'."),
    Threshold("error_percent_max", 2.0,
              "|predicted − observed crash step| / observed × 100 ≤ value, for a run whose "
              "window also meets lead_fraction_min",
              "a fit on steps 450-500 predicted 605; NaN at 605 (Fig. 2)",
              "The paper's prediction was exact to the step; 2% allows for the discrete step "
              "count and the choice of window."),
    Threshold("window_low_multiple", 2.0,
              "the fit window starts at the first step with ‖u_t‖ ≥ value × ‖u_0‖",
              "window: steps 450-500 (Fig. 2); Fig. 10 (L = 3) gives no window",
              "An online rule, relative to the run's own initial TD error so that it does not "
              "depend on the scale of the initialization.",
              changed_after_runs="Chosen on exploration runs (L = 2 and 3, seeds 0-2, balanced "
              "initialization), among the multiples 2-4, 2-5, 3-6 and 4-8: none met both the "
              "lead and the 2% bound on every exploration seed; 2-4 gave leads of 13-19% with "
              "errors of 1.5-2.5% at L = 2. The verdict runs use other seeds (from 100)."),
    Threshold("window_high_multiple", 4.0,
              "the fit window ends at the first step with ‖u_t‖ ≥ value × ‖u_0‖; the predictor "
              "sees nothing later",
              "window: steps 450-500, ending 105 steps before the event (Fig. 2)",
              "See window_low_multiple.",
              changed_after_runs="Chosen with window_low_multiple on the exploration seeds 0-2; "
              "see there."),
    Threshold("fit_r_squared_min", 0.99,
              "the line fitted to ‖u_t‖^(−(2L−2)/L) on the window has R² ≥ value in every run",
              "Fig. 2 and Fig. 10 show the inverse power falling on a straight line",
              "A straight line explains all but 1% of the variance on the window; fixed before "
              "the verdict runs."),
    # the setting of the paper's toy script (core.toy_maze): it plots 1/(mean Q), which starts
    # near or below zero, so the window levels are absolute values of mean Q
    Threshold("maze_l2_window_low_q", 4.0,
              "official toy setting, L = 2: the fit window starts at the first step with "
              "mean Q ≥ value",
              "the script plots 1/(mean Q) from iteration 200, where mean Q is about 3.3; "
              "Fig. 2's window 450-500 of 605",
              "The end level is 1.5 × the start so that 1/Q shrinks by the same factor over the "
              "window as in Fig. 2, (605 − 450)/(605 − 500) ≈ 1.5.",
              changed_after_runs="Chosen on exploration runs (init seeds 0-4 and the script's "
              "111) among the levels 1-2, 1.5-3, 2-3, 2-4, 2-6, 3-4, 3-5, 3-6, 4-6 and 4-8: "
              "none met both the lead and the 2% bound on every exploration seed; 4-6 met both "
              "on 2 of 6 (3 counting seed 111's -2.0%), 4-8 on 2. Verdict seeds start at 100."),
    Threshold("maze_l2_window_high_q", 6.0,
              "official toy setting, L = 2: the fit window ends at the first step with "
              "mean Q ≥ value; the predictor sees nothing later",
              "window: steps 450-500, ending 105 steps before the NaN (Fig. 2)",
              "See maze_l2_window_low_q.",
              changed_after_runs="Chosen with maze_l2_window_low_q on the exploration seeds."),
    Threshold("maze_l3_window_low_q", 1.5,
              "official toy setting, L = 3 (one more hidden layer of width 64): the fit window "
              "starts at the first step with mean Q ≥ value",
              "Fig. 10 (L = 3) gives no window",
              "End level 2/1.5: (2/1.5)^(4/3) ≈ 1.47, the shrink factor of Fig. 2's window in "
              "the fitted 1/Q^(4/3).",
              changed_after_runs="Chosen on exploration runs (init seeds 0-4 and 111) among "
              "1-1.5, 1-2, 1.2-1.6, 1.3-2, 1.5-2, 1.5-3, 2-3 and 2-4: none met both bounds on "
              "more than 2 of 6 exploration seeds; 1.5-2 met both on 1-2."),
    Threshold("maze_l3_window_high_q", 2.0,
              "official toy setting, L = 3: the fit window ends at the first step with "
              "mean Q ≥ value; the predictor sees nothing later",
              "Fig. 10 (L = 3) gives no window",
              "See maze_l3_window_low_q.",
              changed_after_runs="Chosen with maze_l3_window_low_q on the exploration seeds."),
)

T5_THRESHOLDS = (
    Threshold("divergence_level", 1e6,
              "a run has diverged once max |Q| exceeds value within the horizon",
              "stars mark runs whose prediction exceeded 1e6 (Fig. 3 left)",
              "The paper's own level."),
    Threshold("seem_monotone_tolerance", 1e-4,
              "normalized SEEM at step 50, ordered by γ, never drops by more than value",
              "larger γ gives larger SEEM (Theorem 3, Fig. 3 left)",
              "Where neighbouring γ give nearly equal SEEM, eigenvalue round-off must not "
              "count as a decrease; 1e-4 is far below the spread of SEEM over the sweep."),
    Threshold("direction_cosine_min", 0.99,
              "critical point t0: |cosine| between the eigenvectors of A's rightmost eigenvalue "
              "at consecutive SEEM measurements (10 steps apart) ≥ value",
              "Assumption 2: after t0 the NTK direction and the policy actions are stable "
              "(Fig. 1: cosine similarities near 1)",
              "Theorem 3 makes u_t follow this eigenvector after t0; at 0.99 it turns by under "
              "about 8 degrees per 10 steps.",
              changed_after_runs="Set after exploratory runs of this sweep were seen. The "
              "cosine of A itself was tried first: a few greedy actions keep changing in the "
              "diverging runs, so consecutive A differ by 1 - cos up to about 0.1 and no "
              "diverging run ever reached a stable A; the rightmost eigenvector stays put "
              "there, so the rule uses it."),
    Threshold("stable_measurements_min", 5,
              "t0 is the first of value consecutive SEEM measurements that each meet "
              "direction_cosine_min; the prediction is known at the last of them",
              "none (the paper gives no rule for t0)",
              "Five measurements (50 steps) rule out a single chance agreement; the rule "
              "looks at nothing after the stretch.",
              changed_after_runs="Set with the exploratory runs in view, together with "
              "direction_cosine_min."),
    Threshold("seem_zero_tolerance", 1e-4,
              "normalized SEEM at t0 > value counts as positive (predicts divergence); "
              "anything at or below as non-positive",
              "positive SEEM ⇔ divergence (Theorem 3)",
              "A zero eigenvalue of A (a direction of u the network cannot move) comes out of "
              "the eigensolver as a tiny number of either sign; the same margin as "
              "seem_monotone_tolerance.",
              changed_after_runs="Added after exploratory runs showed converged runs with "
              "normalized SEEM of order ±1e-6; the value is the existing monotonicity "
              "margin, not fitted to the runs."),
)

T6_TOY_THRESHOLDS = (
    Threshold("toy_slope_ratio_tolerance", 0.10,
              "toy, L = 2 and L = 3: |fitted slope of ‖θ_t‖ on the fit window / η√P − 1| ≤ "
              "value in every run (two-sided)",
              "‖θ_t‖ = η√P·t + o(t) (Theorem 4)",
              "With every coordinate moving by about η per step the slope is η√P; ±10% allows "
              "the o(t) term. The runs use the paper's Adam (β1 0.9, β2 0.999), whose "
              "second-moment average lags the growing gradient by about 1/(1−β2) steps, so the "
              "ratio approaches 1 like 1 + (2L−1)/((1−β2)t); the profiles' run lengths are "
              "chosen from that estimate, not from the measured ratios.",
              changed_after_runs="Replaces toy_l2_slope_ratio_tolerance (±10%, L = 2 only) "
              "and toy_l3_slope_ratio_max (L = 3 checked only from above, at 1.10), which were "
              "set with Adam β2 = 0.99 after runs with β2 = 0.999 had missed the band; now "
              "β2 = 0.999 as in the paper, longer runs, and both depths two-sided. This entry "
              "was written before any run with these settings."),
    Threshold("toy_fit_start_fraction", 0.75,
              "toy: the norm line and the log-log slope of Q are fitted on the steps "
              "t ≥ value × (run length), the last quarter of the run",
              "after t0 (Theorem 4; Fig. 4 gives no window)",
              "Adam's lag shrinks like 1/t, so the latest window is the least biased; the last "
              "quarter keeps thousands of (noise-free, full-batch) points. Fixed before the "
              "runs with β2 = 0.999."),
    Threshold("toy_q_loglog_tolerance", 0.15,
              "toy: |log-log slope of max|Q| against t, divided by L, minus 1| ≤ value in every "
              "run (L = 2 and 3)",
              "‖u_t‖ = Θ(t^L) (Theorem 4); log Q ≈ 3·log t + c for L = 3 (Fig. 4)",
              "±15% around L, as in the offline chapter, on the clock that starts where the "
              "fitted norm line reaches 0; on the raw step count the offset of ‖θ_t0‖ lowers "
              "the slope, and both are printed."),
)

T7_THRESHOLDS = (
    Threshold("blowup_factor_min", 100,
              "without LayerNorm, final ‖w‖ > value × initial ‖w‖",
              "weights blow up without LayerNorm (Fig. 14)",
              "Geometric growth, as in Sutton & Barto's Fig. 11.2, passes it (about 500× after "
              "2,000 steps of the expected-update version); bounded drift does not."),
    Threshold("growth_factor_min", 10,
              "without LayerNorm, final ‖w‖ > value × ‖w‖ at half the run",
              "weights blow up without LayerNorm (Fig. 14)",
              "The weights must still be growing at the end, not have jumped once and stopped."),
    Threshold("settle_tolerance", 0.01,
              "with LayerNorm, |final ‖w‖ / ‖w‖ at half the run − 1| < value",
              "weights converge with LayerNorm (Fig. 14)",
              "Converged parameters move by less than 1% over the second half of the run."),
    Threshold("value_max", 1e-2,
              "with LayerNorm, final max_s |v(s)| < value",
              "weights converge with LayerNorm (Fig. 14); every true value is 0",
              "The values must approach the true value 0, not just stop moving."),
    Threshold("sample_blowup_factor_min", 100,
              "behaviour-policy version, every seed: without LayerNorm, final ‖w‖ > value × "
              "initial ‖w‖",
              "weights blow up without LayerNorm (Fig. 14); Sutton & Barto's Fig. 11.2 (left) "
              "diverges with sampled transitions",
              "The same bound as blowup_factor_min: the importance-weighted sampled update has "
              "the expected update as its mean, so it must diverge as fast on the log scale, "
              "and in every seed, not on average."),
    Threshold("sample_growth_factor_min", 10,
              "behaviour-policy version, every seed: without LayerNorm, final ‖w‖ > value × ‖w‖ "
              "at half the run",
              "weights blow up without LayerNorm (Fig. 14)",
              "As growth_factor_min: still growing at the end, in every seed."),
    Threshold("sample_settle_tolerance", 0.01,
              "behaviour-policy version, every seed: with LayerNorm, |final ‖w‖ / ‖w‖ at half "
              "the run − 1| < value",
              "weights converge with LayerNorm (Fig. 14)",
              "As settle_tolerance: every reward is 0 and v ≡ 0 is representable, so at the "
              "fixed point every TD error, and with it the sampling noise, vanishes."),
    Threshold("sample_value_max", 1e-2,
              "behaviour-policy version, every seed: with LayerNorm, final max_s |v(s)| < value",
              "weights converge with LayerNorm (Fig. 14); every true value is 0",
              "As value_max, in every seed."),
    Threshold("sample_layernorm_lr_scale", 1 / 7,
              "follow-up: the LayerNorm behaviour-policy runs are repeated with step size "
              "value × α for 1/value × the steps, and judged by sample_settle_tolerance and "
              "sample_value_max",
              "none (Fig. 14 gives no step size; Sutton & Barto use α = 0.01 for the linear "
              "function)",
              "With the ratio ρ = 7 a solid step moves the parameters by 7α times the gradient. "
              "This scale makes each sampled step the expected-update version's step, and the "
              "longer run gives the same number of them in expectation.",
              changed_after_runs="Added after the LayerNorm behaviour-policy runs at α = 0.01 "
              "overflowed in every seed within the first steps: at w0 the LayerNorm model's "
              "α·ρ·‖∇v(s)‖² is about 14, far past the limit 2 of a stable gradient step, while "
              "the linear model's is 0.35. The thresholds the follow-up is judged by were fixed "
              "before any behaviour-policy run."),
)
