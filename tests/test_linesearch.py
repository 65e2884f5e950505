"""Tests of the zoom and backtracking line searches and value_and_grad_from_state."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def quartic(x):
    """A smooth non-quadratic objective with its minimum near 1."""
    return jnp.sum((x - 1.0) ** 2 + 0.1 * x**4) + x[0] * x[1]


def _with_linesearch(lib, linesearch, learning_rate=1.0):
    return lib.chain(lib.sgd(learning_rate), linesearch)


def _run(lib, opt, fn, params, steps):
    """Return the params and the line search states of ``steps`` jitted steps."""

    def step(carry, _):
        params, state = carry
        value, grad = jax.value_and_grad(fn)(params)
        updates, state = opt.update(
            grad, state, params, value=value, grad=grad, value_fn=fn
        )
        params = lib.apply_updates(params, updates)
        return (params, state), (params, state[-1])

    @jax.jit
    def run(params):
        _, outputs = jax.lax.scan(step, (params, opt.init(params)), None, steps)
        return outputs

    return run(params)


def _one_round(linesearch, fn, params, direction, state=None):
    """Run one jitted round along ``direction`` and return the update and state."""
    value, grad = jax.value_and_grad(fn)(params)
    state = linesearch.init(params) if state is None else state

    @jax.jit
    def update(state):
        return linesearch.update(
            direction, state, params, value=value, grad=grad, value_fn=fn
        )

    return update(state)


PARAMS = jnp.linspace(-2.0, 2.0, 6, dtype=jnp.float32)


# ---------------------------------------------------------------------------
# Parity with optax


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"initial_guess_strategy": "one"},
        {"max_learning_rate": 0.3},
        {"approx_dec_rtol": None, "curv_rtol": 0.5},
        {"curv_rtol": math.inf, "increase_factor": 3.0},
    ],
    ids=["defaults", "guess-one", "max-rate", "armijo-only", "no-curvature"],
)
def test_zoom_matches_optax(kwargs):
    with reference_mode():
        ref = _with_linesearch(optax, optax.scale_by_zoom_linesearch(15, **kwargs))
        expected_params, expected_state = _run(optax, ref, quartic, PARAMS, 8)
    opt = _with_linesearch(optgrad, optgrad.scale_by_zoom_linesearch(15, **kwargs))
    params, state = _run(optgrad, opt, quartic, PARAMS, 8)
    tree_allclose(params, expected_params, rtol=1e-5, atol=1e-6)
    tree_allclose(state.learning_rate, expected_state.learning_rate, rtol=1e-5)
    np.testing.assert_array_equal(
        state.info.num_linesearch_steps, expected_state.info.num_linesearch_steps
    )
    assert not np.any(state.info.failed)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"store_grad": True},
        {"decrease_factor": 0.5, "increase_factor": 2.0, "max_learning_rate": 2.0},
        {"slope_rtol": 0.3, "rtol": 1e-3},
    ],
    ids=["defaults", "store-grad", "factors", "tolerances"],
)
def test_backtracking_matches_optax(kwargs):
    with reference_mode():
        ls = optax.scale_by_backtracking_linesearch(15, **kwargs)
        ref = _with_linesearch(optax, ls, 0.5)
        expected_params, expected_state = _run(optax, ref, quartic, PARAMS, 8)
    ls = optgrad.scale_by_backtracking_linesearch(15, **kwargs)
    opt = _with_linesearch(optgrad, ls, 0.5)
    params, state = _run(optgrad, opt, quartic, PARAMS, 8)
    tree_allclose(params, expected_params, rtol=1e-5, atol=1e-6)
    tree_allclose(state.learning_rate, expected_state.learning_rate, rtol=1e-5)
    np.testing.assert_array_equal(
        state.info.num_linesearch_steps, expected_state.info.num_linesearch_steps
    )
    if kwargs.get("store_grad"):
        tree_allclose(state.grad, expected_state.grad, rtol=1e-5, atol=1e-6)
    else:
        assert state.grad is None


# ---------------------------------------------------------------------------
# Conditions


@pytest.mark.parametrize("start", [-3.0, 0.5, 4.0])
def test_zoom_step_satisfies_strong_wolfe(start):
    params = jnp.full(6, start, jnp.float32)
    direction = -jax.grad(quartic)(params)
    linesearch = optgrad.scale_by_zoom_linesearch(30, approx_dec_rtol=None)
    updates, state = _one_round(linesearch, quartic, params, direction)

    stepsize = float(state.learning_rate)
    slope = float(jnp.vdot(jax.grad(quartic)(params), direction))
    new_params = params + updates
    new_slope = float(jnp.vdot(jax.grad(quartic)(new_params), direction))
    assert stepsize > 0
    assert not bool(state.info.failed)
    assert (
        float(quartic(new_params)) <= float(quartic(params)) + 1e-4 * stepsize * slope
    )
    assert abs(new_slope) <= 0.9 * abs(slope)
    np.testing.assert_allclose(state.value, quartic(new_params), rtol=1e-6)
    tree_allclose(state.grad, jax.grad(quartic)(new_params), rtol=1e-5, atol=1e-5)


def test_backtracking_step_satisfies_armijo():
    params = jnp.full(6, 3.0, jnp.float32)
    direction = -jax.grad(quartic)(params)
    linesearch = optgrad.scale_by_backtracking_linesearch(30, slope_rtol=0.4)
    updates, state = _one_round(linesearch, quartic, params, direction)
    stepsize = float(state.learning_rate)
    slope = float(jnp.vdot(jax.grad(quartic)(params), direction))
    assert 0 < stepsize < 1
    assert (
        float(quartic(params + updates))
        <= float(quartic(params)) + 0.4 * stepsize * slope
    )
    assert float(state.info.decrease_error) == 0.0


# ---------------------------------------------------------------------------
# Failure


def _nan_except_at(start):
    def fn(x):
        return jnp.sum(x**2) + jnp.where(jnp.any(x != start), jnp.nan, 0.0)

    return fn


def _jump_at(start):
    """A quadratic raised by 100 everywhere but at ``start``.

    No stepsize decreases it, but its gradient is smooth.
    """

    def fn(x):
        return jnp.sum(x**2) + jnp.where(jnp.any(x != start), 100.0, 0.0)

    return fn


LINESEARCHES = {
    "zoom": lambda lib: lib.scale_by_zoom_linesearch(10),
    "backtracking": lambda lib: lib.scale_by_backtracking_linesearch(
        10, store_grad=True
    ),
}


@pytest.mark.parametrize("name", LINESEARCHES)
@pytest.mark.parametrize("make_fn", [_nan_except_at, _jump_at], ids=["nan", "jump"])
def test_failed_round_returns_zero_update(name, make_fn):
    start = jnp.array([0.5, -1.0, 2.0], jnp.float32)
    fn = make_fn(start)
    direction = -jax.grad(fn)(start)
    updates, state = _one_round(LINESEARCHES[name](optgrad), fn, start, direction)

    np.testing.assert_array_equal(updates, np.zeros(3))
    assert bool(state.info.failed)
    assert float(state.learning_rate) == 0.0
    assert float(state.value) == float(fn(start))
    tree_allclose(state.grad, jax.grad(fn)(start))
    assert int(state.info.num_linesearch_steps) >= 10


@pytest.mark.parametrize("name", LINESEARCHES)
def test_optax_takes_unsafe_step_on_jump(name):
    start = jnp.array([0.5, -1.0, 2.0], jnp.float32)
    fn = _jump_at(start)
    direction = -jax.grad(fn)(start)
    with reference_mode():
        updates, _ = _one_round(LINESEARCHES[name](optax), fn, start, direction)
    # optax 0.2.8 applies the last stepsize tried, which raises the objective.
    assert float(fn(start + updates)) > float(fn(start))


@pytest.mark.parametrize(
    "linesearch",
    [
        optgrad.scale_by_zoom_linesearch(10, initial_guess_strategy="keep"),
        optgrad.scale_by_backtracking_linesearch(10),
    ],
    ids=["zoom-keep", "backtracking"],
)
def test_round_after_failure_moves_again(linesearch):
    start = jnp.array([0.5, -1.0, 2.0], jnp.float32)
    direction = -jax.grad(quartic)(start)
    _, state = _one_round(linesearch, _nan_except_at(start), start, direction)
    assert float(state.learning_rate) == 0.0
    updates, state = _one_round(linesearch, quartic, start, direction, state)
    assert float(state.learning_rate) > 0
    assert not bool(state.info.failed)
    assert float(quartic(start + updates)) < float(quartic(start))


def test_verbose_reports_failure(capfd):
    start = jnp.array([0.5, -1.0], jnp.float32)
    fn = _nan_except_at(start)
    linesearch = optgrad.scale_by_zoom_linesearch(4, verbose=True)
    _, state = _one_round(linesearch, fn, start, -jax.grad(fn)(start))
    jax.effects_barrier()
    assert bool(state.info.failed)
    assert "no stepsize with sufficient decrease" in capfd.readouterr().out


# ---------------------------------------------------------------------------
# Directions that do not descend


@pytest.mark.parametrize("name", LINESEARCHES)
def test_ascent_direction_falls_back_to_steepest_descent(name):
    params = jnp.full(6, 3.0, jnp.float32)
    ascent = 0.1 * jax.grad(quartic)(params)
    updates, state = _one_round(LINESEARCHES[name](optgrad), quartic, params, ascent)
    assert bool(state.info.steepest_descent_fallback)
    assert not bool(state.info.failed)
    assert float(quartic(params + updates)) < float(quartic(params))
    # The step follows -grad.
    cosine = jnp.vdot(updates, -ascent) / (
        jnp.linalg.norm(updates) * jnp.linalg.norm(ascent)
    )
    np.testing.assert_allclose(cosine, 1.0, rtol=1e-6)


def test_optax_zoom_follows_ascent_direction():
    params = jnp.full(6, 3.0, jnp.float32)
    ascent = 0.1 * jax.grad(quartic)(params)
    with reference_mode():
        linesearch = optax.scale_by_zoom_linesearch(10)
        updates, _ = _one_round(linesearch, quartic, params, ascent)
    # optax 0.2.8 steps uphill: the updates point along the gradient.
    assert float(jnp.vdot(updates, ascent)) > 0


@pytest.mark.parametrize("name", LINESEARCHES)
def test_zero_gradient_gives_zero_update(name):
    params = jnp.ones(3, jnp.float32)

    def fn(x):
        return jnp.sum((x - 1.0) ** 2)

    updates, state = _one_round(LINESEARCHES[name](optgrad), fn, params, jnp.ones(3))
    np.testing.assert_array_equal(updates, np.zeros(3))
    assert float(state.value) == 0.0


@pytest.mark.parametrize("name", LINESEARCHES)
def test_nan_direction_gives_finite_update(name):
    params = jnp.full(3, 2.0, jnp.float32)
    direction = jnp.array([jnp.nan, 1.0, 1.0], jnp.float32)
    updates, state = _one_round(LINESEARCHES[name](optgrad), quartic, params, direction)
    assert np.all(np.isfinite(updates))
    assert bool(state.info.steepest_descent_fallback)
    assert float(quartic(params + updates)) < float(quartic(params))


# ---------------------------------------------------------------------------
# Dtypes and pytrees


def test_bfloat16_params():
    params = {"w": jnp.array([2.0, -1.0], jnp.bfloat16)}

    def fn(p):
        return jnp.sum((p["w"].astype(jnp.float32) - 0.5) ** 2)

    linesearch = optgrad.scale_by_zoom_linesearch(10)
    direction = jax.tree.map(jnp.negative, jax.grad(fn)(params))
    updates, state = _one_round(linesearch, fn, params, direction)
    assert updates["w"].dtype == jnp.bfloat16
    assert state.value.dtype == jnp.float32
    assert state.grad["w"].dtype == jnp.bfloat16
    assert float(fn(optgrad.apply_updates(params, updates))) < float(fn(params))


def test_float64_params_keep_float64():
    with jax.enable_x64(True):
        params = jnp.array([2.0, -1.0], jnp.float64)
        linesearch = optgrad.scale_by_zoom_linesearch(10)
        updates, state = _one_round(
            linesearch, quartic, params, -jax.grad(quartic)(params)
        )
        assert updates.dtype == jnp.float64
        assert state.learning_rate.dtype == jnp.float64
        assert state.value.dtype == jnp.float64


# ---------------------------------------------------------------------------
# Extra arguments and value_and_grad_from_state


def test_forwards_data_to_value_fn():
    def loss(params, inputs, targets):
        return jnp.mean((inputs @ params - targets) ** 2)

    inputs = jnp.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], jnp.float32)
    targets = jnp.array([1.0, 0.0, 2.0], jnp.float32)
    params = jnp.zeros(2, jnp.float32)
    opt = _with_linesearch(optgrad, optgrad.scale_by_zoom_linesearch(15))
    state = opt.init(params)
    value, grad = jax.value_and_grad(loss)(params, inputs, targets)
    updates, state = opt.update(
        grad,
        state,
        params,
        value=value,
        grad=grad,
        value_fn=loss,
        inputs=inputs,
        targets=targets,
    )
    new_params = optgrad.apply_updates(params, updates)
    np.testing.assert_allclose(
        state[-1].value, loss(new_params, inputs, targets), rtol=1e-6
    )
    assert float(state[-1].value) < float(value)


def test_rejects_arguments_value_fn_does_not_take():
    linesearch = optgrad.scale_by_zoom_linesearch(5)
    params = jnp.ones(2)
    value, grad = jax.value_and_grad(quartic)(params)
    with pytest.raises(
        TypeError, match=r"does not accept the keyword arguments \['batch'\]"
    ):
        linesearch.update(
            -grad,
            linesearch.init(params),
            params,
            value=value,
            grad=grad,
            value_fn=quartic,
            batch=jnp.ones(3),
        )


@pytest.mark.parametrize("name", LINESEARCHES)
def test_update_without_value_fn_raises(name):
    linesearch = LINESEARCHES[name](optgrad)
    params = jnp.ones(2)
    with pytest.raises(TypeError, match=r"needs value_fn, but update was called"):
        linesearch.update(
            -params, linesearch.init(params), params, value=1.0, grad=params
        )


def test_non_scalar_objective_raises():
    linesearch = optgrad.scale_by_zoom_linesearch(5)
    params = jnp.ones(2)
    with pytest.raises(
        ValueError, match=r"must return a scalar, got an array of shape \(2,\)"
    ):
        linesearch.update(
            -params,
            linesearch.init(params),
            params,
            value=1.0,
            grad=params,
            value_fn=lambda x: x**2,
        )


def test_value_and_grad_from_state_reuses_stored_values():
    params = jnp.array([1.0, 2.0], jnp.float32)
    opt = _with_linesearch(optgrad, optgrad.scale_by_zoom_linesearch(5))
    value_and_grad = optgrad.value_and_grad_from_state(quartic)

    state = opt.init(params)
    value, grad = value_and_grad(params, state=state)
    np.testing.assert_allclose(value, quartic(params), rtol=1e-6)
    tree_allclose(grad, jax.grad(quartic)(params))

    stored_grad = jnp.array([7.0, 8.0], jnp.float32)
    line_state = state[-1]._replace(value=jnp.float32(3.0), grad=stored_grad)
    value, grad = value_and_grad(params, state=(state[0], line_state))
    assert float(value) == 3.0
    np.testing.assert_array_equal(grad, stored_grad)


def test_value_and_grad_from_state_errors():
    params = jnp.ones(2)
    value_and_grad = optgrad.value_and_grad_from_state(quartic)
    with pytest.raises(ValueError, match="has no 'value' field"):
        value_and_grad(params, state=optgrad.adam(0.1).init(params))

    zoom = optgrad.scale_by_zoom_linesearch(5)
    twice = optgrad.chain(zoom, zoom).init(params)
    with pytest.raises(ValueError, match=r"has 2 'value' fields \(state\[0\]\.value"):
        value_and_grad(params, state=twice)

    backtracking = optgrad.scale_by_backtracking_linesearch(5)
    with pytest.raises(ValueError, match="store_grad=True"):
        value_and_grad(params, state=backtracking.init(params))


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        ("scale_by_zoom_linesearch", {"max_linesearch_steps": 0}, r"must be >= 1"),
        (
            "scale_by_zoom_linesearch",
            {"max_linesearch_steps": 5, "initial_guess_strategy": "last"},
            r"initial_guess_strategy='last'\) is not supported",
        ),
        (
            "scale_by_zoom_linesearch",
            {"max_linesearch_steps": 5, "increase_factor": 1.0},
            r"increase_factor=1.0\) is out of range",
        ),
        (
            "scale_by_zoom_linesearch",
            {"max_linesearch_steps": 5, "max_learning_rate": 0.0},
            r"max_learning_rate=0.0\) is out of range",
        ),
        (
            "scale_by_backtracking_linesearch",
            {"max_backtracking_steps": 5, "decrease_factor": 1.0},
            r"decrease_factor=1.0\) is out of range",
        ),
        (
            "scale_by_backtracking_linesearch",
            {"max_backtracking_steps": 5, "atol": -1.0},
            r"atol=-1.0\) is out of range",
        ),
    ],
)
def test_rejects_invalid_arguments(factory, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(optgrad, factory)(**kwargs)
