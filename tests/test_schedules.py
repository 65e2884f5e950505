"""Schedules: parity with optax, degenerate settings and construction errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode

import optgrad

BIG_STEP = 10**6
INT32_MAX = 2**31 - 1


class ScheduleCase:
    """A schedule built the same way in both libraries, and its phase boundaries.

    Attributes:
        name: The test id.
        build: A function of the library module that returns the schedule.
        boundaries: Steps where a phase starts or ends; the tests probe each
            of them, one step before and one step after.
    """

    def __init__(self, name, build, boundaries):
        self.name = name
        self.build = build
        self.boundaries = boundaries

    def steps(self):
        probes = {0, BIG_STEP}
        for boundary in self.boundaries:
            probes.update(s for s in (boundary - 1, boundary, boundary + 1) if s >= 0)
        return sorted(probes)

    def __repr__(self):
        return self.name


def _sgdr(lib):
    return lib.sgdr_schedule(
        [
            dict(
                init_value=0.0,
                peak_value=1.0,
                warmup_steps=5,
                decay_steps=20,
                end_value=0.1,
            ),
            dict(init_value=0.1, peak_value=0.5, warmup_steps=2, decay_steps=30),
        ]
    )


def _join(lib):
    return lib.join_schedules(
        [
            lib.linear_schedule(0.0, 1.0, 10),
            lib.cosine_decay_schedule(1.0, 20),
            lib.constant_schedule(0.05),
        ],
        [10, 30],
    )


CASES = [
    ScheduleCase("constant", lambda lib: lib.constant_schedule(0.3), []),
    ScheduleCase(
        "polynomial",
        lambda lib: lib.polynomial_schedule(1.0, 0.01, 2, 100, 5),
        [5, 105],
    ),
    ScheduleCase(
        "polynomial_sqrt",
        lambda lib: lib.polynomial_schedule(0.5, 2.0, 0.5, 10),
        [10],
    ),
    ScheduleCase(
        "linear", lambda lib: lib.linear_schedule(0.0, 1e-3, 50, 20), [20, 70]
    ),
    ScheduleCase(
        "piecewise_constant",
        lambda lib: lib.piecewise_constant_schedule(0.1, {0: 0.5, 100: 0.1, 200: 0.01}),
        [0, 100, 200],
    ),
    ScheduleCase(
        "piecewise_constant_none",
        lambda lib: lib.piecewise_constant_schedule(0.1),
        [],
    ),
    ScheduleCase(
        "exponential", lambda lib: lib.exponential_decay(1.0, 100, 0.5), [100]
    ),
    ScheduleCase(
        "exponential_staircase",
        lambda lib: lib.exponential_decay(2e-3, 7, 0.9, 10, True, 1e-4),
        [10, 17, 24],
    ),
    ScheduleCase(
        "exponential_growth",
        lambda lib: lib.exponential_decay(1e-3, 10, 1.5, 0, False, 1.0),
        [10, 170],
    ),
    ScheduleCase("cosine", lambda lib: lib.cosine_decay_schedule(1.0, 100), [100]),
    ScheduleCase(
        "cosine_alpha_exponent",
        lambda lib: lib.cosine_decay_schedule(3e-4, 37, 0.1, 2.0),
        [37],
    ),
    ScheduleCase(
        "warmup_constant",
        lambda lib: lib.warmup_constant_schedule(0.0, 1.0, 10),
        [10],
    ),
    ScheduleCase(
        "warmup_cosine",
        lambda lib: lib.warmup_cosine_decay_schedule(0.0, 1.0, 10, 100, 0.01),
        [10, 100],
    ),
    ScheduleCase(
        "warmup_cosine_exponent",
        lambda lib: lib.warmup_cosine_decay_schedule(1e-5, 3e-3, 7, 50, 1e-4, 1.5),
        [7, 50],
    ),
    ScheduleCase(
        "warmup_cosine_no_warmup",
        lambda lib: lib.warmup_cosine_decay_schedule(0.1, 1.0, 0, 50),
        [0, 50],
    ),
    ScheduleCase(
        "warmup_exponential",
        lambda lib: lib.warmup_exponential_decay_schedule(
            0.0, 1.0, 10, 20, 0.5, 5, True, 0.01
        ),
        [10, 15, 35, 55],
    ),
    ScheduleCase("sgdr", _sgdr, [5, 20, 22, 50]),
    ScheduleCase(
        "piecewise_linear",
        lambda lib: lib.piecewise_interpolate_schedule(
            "linear", 1.0, {4: 0.1, 8: 0.01}
        ),
        [4, 8],
    ),
    ScheduleCase(
        "piecewise_cosine",
        lambda lib: lib.piecewise_interpolate_schedule(
            "cosine", 0.3, {0: 2.0, 10: 0.5, 30: 0.2}
        ),
        [0, 10, 30],
    ),
    ScheduleCase(
        "linear_onecycle",
        lambda lib: lib.linear_onecycle_schedule(100, 1.0),
        [30, 85, 100],
    ),
    ScheduleCase(
        "cosine_onecycle",
        lambda lib: lib.cosine_onecycle_schedule(100, 0.1, 0.25, 10.0, 100.0),
        [25, 100],
    ),
    ScheduleCase("join", _join, [10, 30]),
]


def _optax_values(case, steps):
    with reference_mode():
        schedule = case.build(optax)
        return np.array([np.float32(schedule(step)) for step in steps])


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_optax_eagerly(case):
    steps = case.steps()
    expected = _optax_values(case, steps)
    schedule = case.build(optgrad)
    for step, want in zip(steps, expected, strict=True):
        value = schedule(step)
        assert value.dtype == jnp.float32, f"dtype at step {step}"
        assert value.shape == (), f"shape at step {step}"
        # One float32 rounding of the largest value of the schedule.
        atol = 1e-7 * np.max(np.abs(expected))
        np.testing.assert_allclose(
            value, want, rtol=1e-6, atol=atol, err_msg=f"at step {step}"
        )


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_optax_under_jit_vmap(case):
    steps = case.steps()
    expected = _optax_values(case, steps)
    schedule = case.build(optgrad)
    values = jax.jit(jax.vmap(schedule))(jnp.asarray(steps, jnp.int32))
    assert values.dtype == jnp.float32
    assert values.shape == (len(steps),)
    # XLA fuses the jitted schedule and may round differently from the
    # eager ops, by a few float32 steps of the largest value.
    atol = 4e-7 * np.max(np.abs(expected))
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=atol)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_finite_at_int32_max(case):
    schedule = case.build(optgrad)
    value = jax.jit(schedule)(jnp.int32(INT32_MAX))
    assert np.isfinite(value)
    np.testing.assert_allclose(value, schedule(BIG_STEP), rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_negative_step_gives_step_zero_value(case):
    schedule = case.build(optgrad)
    assert schedule(-5) == schedule(0)


# Formulas written out in NumPy, in float64, for a few schedules.


def test_polynomial_matches_numpy_formula():
    init, end, power, steps, begin = 2.0, 0.5, 3.0, 40, 7
    schedule = optgrad.polynomial_schedule(init, end, power, steps, begin)
    t = np.arange(0, 60)
    fraction = 1 - np.clip(t - begin, 0, steps) / steps
    expected = (init - end) * fraction**power + end
    actual = jax.vmap(schedule)(jnp.asarray(t, jnp.int32))
    np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=1e-7)


def test_cosine_decay_matches_numpy_formula():
    init, steps, alpha, exponent = 0.3, 25, 0.2, 0.7
    schedule = optgrad.cosine_decay_schedule(init, steps, alpha, exponent)
    t = np.arange(0, 40)
    cosine = 0.5 * (1 + np.cos(np.pi * np.minimum(t, steps) / steps))
    expected = init * ((1 - alpha) * cosine**exponent + alpha)
    actual = jax.vmap(schedule)(jnp.asarray(t, jnp.int32))
    np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=1e-7)


def test_exponential_decay_matches_numpy_formula():
    init, steps, rate, begin = 1.5, 8, 0.7, 3
    schedule = optgrad.exponential_decay(init, steps, rate, begin)
    t = np.arange(0, 50)
    expected = np.where(t <= begin, init, init * rate ** ((t - begin) / steps))
    actual = jax.vmap(schedule)(jnp.asarray(t, jnp.int32))
    np.testing.assert_allclose(actual, expected, rtol=2e-6)


# Degenerate settings: zero-length phases and boundaries at step 0.


def _values(schedule, stop):
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(stop, dtype=jnp.int32)))


def test_linear_zero_length_jumps_at_begin():
    values = _values(optgrad.linear_schedule(1.0, 0.25, 0, transition_begin=3), 6)
    np.testing.assert_array_equal(values, [1.0, 1.0, 1.0, 0.25, 0.25, 0.25])


def test_warmup_constant_without_warmup_starts_at_peak():
    values = _values(optgrad.warmup_constant_schedule(0.0, 2.0, 0), 4)
    np.testing.assert_array_equal(values, [2.0, 2.0, 2.0, 2.0])


def test_warmup_cosine_zero_length_decay_holds_end_value():
    schedule = optgrad.warmup_cosine_decay_schedule(0.0, 1.0, 4, 4, end_value=0.1)
    values = _values(schedule, 8)
    np.testing.assert_allclose(values, [0.0, 0.25, 0.5, 0.75, 0.1, 0.1, 0.1, 0.1])


def test_warmup_cosine_zero_peak_reaches_end_value():
    schedule = optgrad.warmup_cosine_decay_schedule(0.0, 0.0, 2, 10, end_value=0.1)
    values = _values(schedule, 12)
    assert values[2] == 0.0
    np.testing.assert_allclose(values[10:], [0.1, 0.1])
    assert np.all(np.diff(values[2:]) >= 0)


def test_warmup_cosine_no_warmup_no_decay():
    schedule = optgrad.warmup_cosine_decay_schedule(0.5, 1.0, 0, 0, end_value=0.2)
    np.testing.assert_array_equal(_values(schedule, 3), np.full(3, np.float32(0.2)))


def test_join_boundary_at_zero_skips_first():
    first = optgrad.constant_schedule(5.0)
    second = optgrad.linear_schedule(1.0, 0.0, 4)
    values = _values(optgrad.join_schedules([first, second], [0]), 6)
    np.testing.assert_array_equal(values, [1.0, 0.75, 0.5, 0.25, 0.0, 0.0])


def test_join_accepts_user_functions():
    halved = lambda step: 0.5 * step.astype(jnp.float32)  # noqa: E731
    schedule = optgrad.join_schedules([lambda step: 1, halved], [2])
    values = _values(schedule, 5)
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values, [1.0, 1.0, 0.0, 0.5, 1.0])


def test_piecewise_constant_boundary_at_zero():
    schedule = optgrad.piecewise_constant_schedule(1.0, {0: 0.5, 2: 0.0})
    np.testing.assert_array_equal(_values(schedule, 4), [0.5, 0.5, 0.0, 0.0])


def test_piecewise_interpolate_boundary_at_zero():
    schedule = optgrad.piecewise_interpolate_schedule("linear", 1.0, {0: 4.0, 2: 0.5})
    np.testing.assert_array_equal(_values(schedule, 4), [4.0, 3.0, 2.0, 2.0])


@pytest.mark.parametrize("interpolate_type", ["linear", "cosine"])
def test_piecewise_interpolate_without_boundaries_is_constant(interpolate_type):
    for boundaries in (None, {}):
        schedule = optgrad.piecewise_interpolate_schedule(
            interpolate_type, 0.7, boundaries
        )
        np.testing.assert_allclose(_values(schedule, 3), [0.7, 0.7, 0.7])


def test_linear_onecycle_reaches_every_value_when_phases_collapse():
    # pct_start == pct_final: the falling phase has length 0.
    schedule = optgrad.linear_onecycle_schedule(
        10, 1.0, pct_start=0.5, pct_final=0.5, div_factor=10.0, final_div_factor=2.0
    )
    values = _values(schedule, 12)
    np.testing.assert_allclose(values[[0, 5, 10, 11]], [0.1, 0.1, 0.05, 0.05])
    np.testing.assert_allclose(values[4], 0.82, rtol=1e-6)


def test_linear_onecycle_pct_final_one():
    schedule = optgrad.linear_onecycle_schedule(10, 1.0, 0.3, 1.0, 25.0, 1e4)
    values = _values(schedule, 12)
    assert values[3] == pytest.approx(1.0)
    # optax 0.2.8 gives 1e-4 here: its dict of phases drops one scale.
    assert values[10] == pytest.approx(0.04 / 1e4)


@pytest.mark.parametrize("pct_start", [0.0, 1.0])
def test_cosine_onecycle_extreme_pct_start(pct_start):
    schedule = optgrad.cosine_onecycle_schedule(10, 1.0, pct_start, 25.0, 1e4)
    values = _values(schedule, 12)
    assert np.all(np.isfinite(values))
    # The peak is at step 0 for pct_start=0, and between steps 9 and 10
    # for pct_start=1, where step 9 is already within 2.5% of it.
    assert 0.97 <= values.max() <= 1.0
    assert values[-1] == pytest.approx(0.04 / 1e4)


def test_onecycle_one_step():
    schedule = optgrad.linear_onecycle_schedule(1, 1.0)
    values = _values(schedule, 3)
    np.testing.assert_allclose(values, [0.04, 4e-6, 4e-6], rtol=1e-6)


def test_exponential_growth_from_zero_stays_zero():
    schedule = optgrad.exponential_decay(0.0, 10, 2.0)
    assert schedule(BIG_STEP) == 0.0
    assert np.isfinite(optgrad.exponential_decay(1.0, 10, 2.0)(BIG_STEP))


def test_sgdr_single_cycle_holds_end_value():
    cycle = dict(
        init_value=0.0, peak_value=1.0, warmup_steps=0, decay_steps=4, end_value=0.5
    )
    values = _values(optgrad.sgdr_schedule([cycle]), 7)
    np.testing.assert_allclose(values[4:], [0.5, 0.5, 0.5])


def test_constant_schedule_returns_float32():
    value = optgrad.constant_schedule(5)(3)
    assert value.dtype == jnp.float32
    assert float(value) == 5.0
    assert optgrad.constant_schedule(math.inf)(0) == math.inf


def test_step_may_be_float():
    schedule = optgrad.linear_schedule(0.0, 1.0, 4)
    assert float(schedule(jnp.float32(2.0))) == 0.5


def test_bool_step_raises():
    with pytest.raises(TypeError, match="integer step"):
        optgrad.linear_schedule(0.0, 1.0, 4)(jnp.bool_(True))


def test_traced_values_are_accepted():
    @jax.jit
    def value_at_five(peak):
        return optgrad.warmup_cosine_decay_schedule(0.0, peak, 5, 20)(5)

    assert float(value_at_five(jnp.float32(3.0))) == 3.0


def test_schedules_namespace_matches_top_level():
    for name in ("constant_schedule", "sgdr_schedule", "inject_hyperparams"):
        assert getattr(optgrad.schedules, name) is getattr(optgrad, name)


# Construction errors: each names the argument and the value.


def _constant(value):
    return optgrad.constant_schedule(value)


ERRORS = [
    (lambda: optgrad.linear_schedule(0.0, 1.0, -1), ValueError, r"transition_steps=-1"),
    (
        lambda: optgrad.linear_schedule(0.0, 1.0, 10, transition_begin=-5),
        ValueError,
        r"transition_begin=-5\) must be >= 0",
    ),
    (lambda: optgrad.linear_schedule(0.0, 1.0, 10.0), TypeError, r"transition_steps"),
    (
        lambda: optgrad.polynomial_schedule(1.0, 0.0, -1.0, 10),
        ValueError,
        r"power=-1.0",
    ),
    (
        lambda: optgrad.polynomial_schedule(math.nan, 0.0, 1.0, 10),
        ValueError,
        r"init_value=nan\) must be finite",
    ),
    (
        lambda: optgrad.linear_schedule(0.0, math.inf, 10),
        ValueError,
        r"end_value=inf\) must be finite",
    ),
    (
        lambda: optgrad.piecewise_constant_schedule(1.0, {-5: 0.1}),
        ValueError,
        r"boundary -5",
    ),
    (
        lambda: optgrad.piecewise_constant_schedule(1.0, {10: -0.1}),
        ValueError,
        r"boundaries_and_scales\[10\]=-0.1",
    ),
    (
        lambda: optgrad.piecewise_constant_schedule(1.0, {10: math.inf}),
        ValueError,
        r"boundaries_and_scales\[10\]=inf",
    ),
    (
        lambda: optgrad.piecewise_constant_schedule(1.0, [(10, 0.1)]),
        TypeError,
        r"must be a dict",
    ),
    (
        lambda: optgrad.piecewise_interpolate_schedule("quadratic", 1.0),
        ValueError,
        r"interpolate_type='quadratic'",
    ),
    (
        lambda: optgrad.piecewise_interpolate_schedule("linear", 1.0, {2.5: 0.1}),
        TypeError,
        r"boundary 2.5",
    ),
    (lambda: optgrad.exponential_decay(1.0, 0, 0.5), ValueError, r"transition_steps=0"),
    (lambda: optgrad.exponential_decay(1.0, 10, 0.0), ValueError, r"decay_rate=0.0"),
    (lambda: optgrad.exponential_decay(1.0, 10, -0.5), ValueError, r"decay_rate=-0.5"),
    (
        lambda: optgrad.exponential_decay(1.0, 10, 0.5, end_value=2.0),
        ValueError,
        r"end_value=2.0\) is above init_value=1.0",
    ),
    (
        lambda: optgrad.exponential_decay(1.0, 10, 2.0, end_value=0.5),
        ValueError,
        r"end_value=0.5\) is below init_value=1.0",
    ),
    (
        lambda: optgrad.exponential_decay(1.0, 10, 0.5, staircase="yes"),
        TypeError,
        r"staircase='yes'",
    ),
    (lambda: optgrad.cosine_decay_schedule(1.0, 0), ValueError, r"decay_steps=0"),
    (
        lambda: optgrad.cosine_decay_schedule(1.0, 10, exponent=0.0),
        ValueError,
        r"exponent=0.0",
    ),
    (
        lambda: optgrad.warmup_cosine_decay_schedule(0.0, 1.0, 20, 10),
        ValueError,
        r"decay_steps=10\) is shorter than warmup_steps=20",
    ),
    (
        lambda: optgrad.warmup_constant_schedule(0.0, 1.0, -3),
        ValueError,
        r"warmup_constant_schedule\(warmup_steps=-3\)",
    ),
    (
        lambda: optgrad.warmup_constant_schedule(0.0, math.nan, 3),
        ValueError,
        r"peak_value=nan",
    ),
    (
        lambda: optgrad.warmup_exponential_decay_schedule(0.0, 1.0, -1, 10, 0.5),
        ValueError,
        r"warmup_steps=-1",
    ),
    (
        lambda: optgrad.warmup_exponential_decay_schedule(
            0.0, 1.0, 5, 10, 0.5, end_value=2.0
        ),
        ValueError,
        r"end_value=2.0\) is above peak_value=1.0",
    ),
    (lambda: optgrad.sgdr_schedule([]), ValueError, r"at least one cycle"),
    (
        lambda: optgrad.sgdr_schedule(
            [dict(init_value=0.0, peak_value=1.0, warmup_steps=0, decay_steps=0)]
        ),
        ValueError,
        r"cycle 0 has decay_steps=0",
    ),
    (
        lambda: optgrad.sgdr_schedule([dict(init_value=0.0, peak_value=1.0)]),
        TypeError,
        r"cycle 0 of cosine_kwargs is invalid",
    ),
    (
        lambda: optgrad.sgdr_schedule({"decay_steps": 10}),
        TypeError,
        r"list of dicts",
    ),
    (
        lambda: optgrad.linear_onecycle_schedule(0, 1.0),
        ValueError,
        r"transition_steps=0",
    ),
    (
        lambda: optgrad.linear_onecycle_schedule(100, 1.0, 0.9, 0.5),
        ValueError,
        r"pct_final=0.5\) is below pct_start=0.9",
    ),
    (
        lambda: optgrad.linear_onecycle_schedule(100, 1.0, pct_start=1.5),
        ValueError,
        r"pct_start=1.5",
    ),
    (
        lambda: optgrad.cosine_onecycle_schedule(100, 1.0, div_factor=0.0),
        ValueError,
        r"div_factor=0.0",
    ),
    (lambda: optgrad.join_schedules([], []), ValueError, r"at least one schedule"),
    (
        lambda: optgrad.join_schedules([_constant(1.0)] * 3, [10, 5]),
        ValueError,
        r"boundaries\[1\]=5 is not greater than boundaries\[0\]=10",
    ),
    (
        lambda: optgrad.join_schedules([_constant(1.0)] * 3, [10, 10]),
        ValueError,
        r"strictly increasing",
    ),
    (
        lambda: optgrad.join_schedules([_constant(1.0)] * 2, []),
        ValueError,
        r"2 schedules need 1 boundaries, got 0",
    ),
    (
        lambda: optgrad.join_schedules([_constant(1.0), 0.5], [3]),
        TypeError,
        r"schedules\[1\] must be a function",
    ),
    (
        lambda: optgrad.join_schedules([_constant(1.0)] * 2, [-1]),
        ValueError,
        r"boundaries\[0\]=-1\) must be >= 0",
    ),
    (
        lambda: optgrad.constant_schedule(lambda step: step),
        TypeError,
        r"constant_schedule\(value=...\) must be a number",
    ),
    (
        lambda: optgrad.constant_schedule(jnp.ones(3)),
        ValueError,
        r"must be a scalar, got an array of shape \(3,\)",
    ),
    (lambda: optgrad.constant_schedule(math.nan), ValueError, r"value=nan"),
    (lambda: optgrad.constant_schedule(True), TypeError, r"must be a number"),
]


@pytest.mark.parametrize(
    ("build", "error", "match"), ERRORS, ids=[e[2] for e in ERRORS]
)
def test_construction_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()
