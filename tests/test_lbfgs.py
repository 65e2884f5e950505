"""Tests of scale_by_lbfgs and lbfgs: convergence, optax parity and safeguards."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize
import scipy.special
import sklearn.datasets
from helpers import reference_mode, tree_allclose

import optgrad


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _solver_step(lib, opt, fn, reuse_value=True):
    """Return one jittable L-BFGS iteration.

    With ``reuse_value`` it takes the value and gradient that the line
    search stored, else it computes them.
    """
    value_and_grad = lib.value_and_grad_from_state(fn)

    def step(params, state):
        if reuse_value:
            value, grad = value_and_grad(params, state=state)
        else:
            value, grad = jax.value_and_grad(fn)(params)
        updates, state = opt.update(
            grad, state, params, value=value, grad=grad, value_fn=fn
        )
        return lib.apply_updates(params, updates), state

    return step


def _iterations_to(lib, fn, params, target, max_iterations):
    """Return the number of iterations until ``fn`` drops below ``target``."""
    opt = lib.lbfgs()
    step = _solver_step(lib, opt, fn)

    def not_there(carry):
        count, params, _ = carry
        return (fn(params) >= target) & (count < max_iterations)

    def body(carry):
        count, params, state = carry
        return (count + 1, *step(params, state))

    @jax.jit
    def run(params):
        start = (jnp.zeros((), jnp.int32), params, opt.init(params))
        return jax.lax.while_loop(not_there, body, start)

    count, params, _ = run(params)
    return int(count), float(fn(params))


def _trajectory(lib, opt, fn, params, steps, reuse_value=True):
    """Return the stacked params and final state after ``steps`` iterations."""
    step = _solver_step(lib, opt, fn, reuse_value)

    @jax.jit
    def run(params):
        def body(carry, _):
            params, state = step(*carry)
            return (params, state), params

        (_, state), trajectory = jax.lax.scan(
            body, (params, opt.init(params)), None, steps
        )
        return trajectory, state

    return run(params)


# ---------------------------------------------------------------------------
# Convergence


def test_rosenbrock_iterations_at_most_optax():
    params = jnp.zeros(10, jnp.float32)
    with reference_mode():
        optax_count, optax_value = _iterations_to(optax, rosenbrock, params, 1e-10, 500)
    count, value = _iterations_to(optgrad, rosenbrock, params, 1e-10, 500)
    # optax 0.2.8 needs 56 iterations here on CPU, and also in a Python loop
    # of jitted steps.
    assert optax_value < 1e-10, f"optax stopped at f = {optax_value:.3g}"
    assert value < 1e-10, f"stopped at f = {value:.3g} after {count} iterations"
    assert count <= optax_count, f"{count} iterations, optax needs {optax_count}"


def test_rosenbrock_first_steps_match_optax():
    params = jnp.zeros(10, jnp.float32)
    with reference_mode():
        expected, _ = _trajectory(optax, optax.lbfgs(), rosenbrock, params, 25)
    actual, _ = _trajectory(optgrad, optgrad.lbfgs(), rosenbrock, params, 25)
    tree_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory_size": 3},
        {"memory_size": 1, "scale_init_precond": False},
        {"learning_rate": 0.5, "linesearch": None},
    ],
    ids=["memory-3", "memory-1-unscaled", "fixed-rate"],
)
def test_options_match_optax(kwargs):
    def quartic(x):
        return jnp.sum((x - 1.0) ** 2 + 0.1 * x**4) + x[0] * x[1]

    params = jnp.linspace(-2.0, 2.0, 6, dtype=jnp.float32)
    reuse = "linesearch" not in kwargs
    with reference_mode():
        opt = optax.lbfgs(**kwargs)
        expected, _ = _trajectory(optax, opt, quartic, params, 12, reuse)
    opt = optgrad.lbfgs(**kwargs)
    actual, _ = _trajectory(optgrad, opt, quartic, params, 12, reuse)
    tree_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def _ill_conditioned_quadratic(dtype, condition=1e3, size=20):
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(size, size)))
    curvatures = np.logspace(0, np.log10(condition), size)
    hessian = (basis * curvatures) @ basis.T
    optimum = rng.normal(size=size)

    def value_and_grad_np(x):
        d = x - optimum
        return 0.5 * d @ hessian @ d, hessian @ d

    hessian_jax = jnp.asarray(hessian, dtype)
    optimum_jax = jnp.asarray(optimum, dtype)

    def fn(x):
        d = x - optimum_jax
        return 0.5 * jnp.dot(d, jnp.dot(hessian_jax, d))

    return fn, value_and_grad_np


def _scipy_minimum(value_and_grad_np, x0):
    result = scipy.optimize.minimize(
        value_and_grad_np,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12},
    )
    assert result.success, result.message
    return result.x, result.fun


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ill_conditioned_quadratic_matches_scipy(dtype):
    x0 = np.zeros(20)
    with jax.enable_x64(dtype == np.float64):
        fn, value_and_grad_np = _ill_conditioned_quadratic(dtype)
        expected_x, expected_value = _scipy_minimum(value_and_grad_np, x0)
        trajectory, state = _trajectory(
            optgrad, optgrad.lbfgs(), fn, jnp.asarray(x0, dtype), 200
        )
        actual_x = np.asarray(trajectory[-1])
        actual_value = float(fn(trajectory[-1]))
    assert actual_x.dtype == dtype
    assert state[0].weights_memory.dtype == dtype
    # f(0) is about 1e3, and the error in x is about eps * cond.
    value_tol, x_tol = (1e-8, 1e-4) if dtype == np.float32 else (1e-12, 1e-6)
    assert actual_value <= expected_value + value_tol
    np.testing.assert_allclose(actual_x, expected_x, atol=x_tol)


def _logistic_regression(dtype):
    features, labels = sklearn.datasets.load_breast_cancer(return_X_y=True)
    features = (features - features.mean(0)) / features.std(0)
    signs = 2.0 * labels - 1.0
    l2 = 1e-2

    def value_and_grad_np(theta):
        w, b = theta[:-1], theta[-1]
        margins = signs * (features @ w + b)
        loss = np.mean(np.logaddexp(0.0, -margins)) + 0.5 * l2 * w @ w
        weights = -signs * scipy.special.expit(-margins) / len(signs)
        grad = np.append(features.T @ weights + l2 * w, weights.sum())
        return loss, grad

    x = jnp.asarray(features, dtype)
    s = jnp.asarray(signs, dtype)

    def fn(params):
        margins = s * (x @ params["w"] + params["b"])
        regularizer = 0.5 * jnp.asarray(l2, dtype) * jnp.sum(params["w"] ** 2)
        return jnp.mean(jnp.logaddexp(jnp.zeros((), dtype), -margins)) + regularizer

    return fn, value_and_grad_np, features.shape[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logistic_regression_matches_scipy(dtype):
    with jax.enable_x64(dtype == np.float64):
        fn, value_and_grad_np, size = _logistic_regression(dtype)
        expected_x, expected_value = _scipy_minimum(
            value_and_grad_np, np.zeros(size + 1)
        )
        params = {"w": jnp.zeros(size, dtype), "b": jnp.zeros((), dtype)}
        trajectory, _ = _trajectory(optgrad, optgrad.lbfgs(), fn, params, 100)
        final = jax.tree.map(lambda x: x[-1], trajectory)
        actual_value = float(fn(final))
    actual_x = np.append(np.asarray(final["w"]), np.asarray(final["b"]))
    assert final["w"].dtype == dtype
    # The loss is about 0.1, which float32 resolves to about 1e-8.
    value_tol, x_tol = (1e-6, 1e-4) if dtype == np.float32 else (1e-13, 1e-6)
    assert actual_value <= expected_value + value_tol
    np.testing.assert_allclose(actual_x, expected_x, atol=x_tol)


def test_dict_params_match_flat_params():
    def split_rosenbrock(params):
        return rosenbrock(jnp.concatenate([params["a"], params["b"].ravel()]))

    flat = jnp.zeros(10, jnp.float32)
    tree = {"a": jnp.zeros(6, jnp.float32), "b": jnp.zeros((2, 2), jnp.float32)}
    # Inner products sum in another order over a tree, and Rosenbrock
    # amplifies that rounding after about ten steps.
    steps = 10
    flat_trajectory, _ = _trajectory(optgrad, optgrad.lbfgs(), rosenbrock, flat, steps)
    tree_trajectory, state = _trajectory(
        optgrad, optgrad.lbfgs(), split_rosenbrock, tree, steps
    )
    joined = jnp.concatenate(
        [tree_trajectory["a"], tree_trajectory["b"].reshape(steps, 4)], axis=1
    )
    tree_allclose(joined, flat_trajectory, rtol=1e-5, atol=1e-5)
    assert state[0].diff_params_memory["b"].shape == (10, 2, 2)


def test_complex_params_with_conjugate_updates():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(6, 4)) + 1j * rng.normal(size=(6, 4))
    target = rng.normal(size=6) + 1j * rng.normal(size=6)
    expected = np.linalg.lstsq(matrix, target, rcond=None)[0]
    matrix = jnp.asarray(matrix, jnp.complex64)
    target = jnp.asarray(target, jnp.complex64)

    def fn(z):
        return jnp.sum(jnp.abs(matrix @ z - target) ** 2)

    conjugate = optgrad.stateless(lambda updates, params: jnp.conj(updates))
    opt = optgrad.chain(conjugate, optgrad.lbfgs())
    trajectory, _ = _trajectory(
        optgrad, opt, fn, jnp.zeros(4, jnp.complex64), 30, reuse_value=False
    )
    assert trajectory.dtype == jnp.complex64
    np.testing.assert_allclose(trajectory[-1], expected, atol=1e-5)


# ---------------------------------------------------------------------------
# Safeguards


def test_skips_pair_with_negative_curvature():
    # The gradient falls from 2 to -1 while x grows: s . y = 1 * (-3) < 0.
    params = [jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0])]
    grads = [jnp.array([2.0, 1.0]), jnp.array([-1.0, 1.0])]
    tx = optgrad.scale_by_lbfgs()
    update = jax.jit(tx.update)
    state = tx.init(params[0])
    _, state = update(grads[0], state, params[0])
    direction, state = update(grads[1], state, params[1])

    assert int(state.num_skipped_pairs) == 1
    assert int(state.num_stored_pairs) == 0
    np.testing.assert_array_equal(state.weights_memory, np.zeros(10))
    # With no pair stored, the direction is min(1, 1 / |g|) * g.
    expected = grads[1] / jnp.linalg.norm(grads[1])
    tree_allclose(direction, expected)
    assert float(jnp.vdot(direction, grads[1])) > 0

    with reference_mode():
        ref = optax.scale_by_lbfgs()
        ref_update = jax.jit(ref.update)
        ref_state = ref.init(params[0])
        _, ref_state = ref_update(grads[0], ref_state, params[0])
        ref_direction, ref_state = ref_update(grads[1], ref_state, params[1])
    # optax 0.2.8 stores the pair with weight 1 / (s . y) = -1/3, and its
    # direction then points uphill.
    assert float(jnp.min(ref_state.weights_memory)) < 0
    assert float(jnp.vdot(ref_direction, grads[1])) < 0


def test_keeps_older_pairs_when_skipping():
    tx = optgrad.scale_by_lbfgs(memory_size=2)
    update = jax.jit(tx.update)
    state = tx.init(jnp.zeros(2))
    steps = [
        (jnp.array([0.0, 0.0]), jnp.array([1.0, 1.0])),
        (jnp.array([1.0, 0.0]), jnp.array([2.0, 1.0])),  # s . y = 1, stored.
        (jnp.array([2.0, 0.0]), jnp.array([0.0, 1.0])),  # s . y = -2, skipped.
    ]
    for params, grads in steps:
        _, state = update(grads, state, params)
    assert int(state.num_stored_pairs) == 1
    assert int(state.num_skipped_pairs) == 1
    np.testing.assert_array_equal(state.weights_memory, [1.0, 0.0])
    np.testing.assert_array_equal(state.diff_params_memory[0], [1.0, 0.0])
    np.testing.assert_array_equal(state.diff_updates_memory[0], [1.0, 0.0])


def test_backtracking_run_never_increases_objective():
    opt = optgrad.lbfgs(
        linesearch=optgrad.scale_by_backtracking_linesearch(15, store_grad=True)
    )
    trajectory, state = _trajectory(
        optgrad, opt, rosenbrock, jnp.zeros(10, jnp.float32), 80
    )
    values = np.asarray(jax.vmap(rosenbrock)(trajectory))
    assert np.all(np.diff(values) <= 0)
    assert values[-1] < 1e-6
    assert np.all(np.asarray(state[0].weights_memory) >= 0)


def _sign_flip():
    return optgrad.stateless(
        lambda updates, params: jax.tree.map(jnp.negative, updates)
    )


def _clip(limit):
    return optgrad.stateless(
        lambda updates, params: jax.tree.map(
            lambda u: jnp.clip(u, -limit, limit), updates
        )
    )


@pytest.mark.parametrize(
    "before", [_sign_flip, lambda: optgrad.scale(-1.0)], ids=["stateless", "scale"]
)
def test_non_descent_direction_never_increases_objective(before):
    opt = optgrad.chain(before(), optgrad.lbfgs())

    def step(carry, _):
        params, state = carry
        value, grad = jax.value_and_grad(rosenbrock)(params)
        updates, state = opt.update(
            grad, state, params, value=value, grad=grad, value_fn=rosenbrock
        )
        info = state[1][2].info
        return (optgrad.apply_updates(params, updates), state), (
            rosenbrock(params),
            info.steepest_descent_fallback,
        )

    @jax.jit
    def run(params):
        return jax.lax.scan(step, (params, opt.init(params)), None, 30)

    (params, _), (values, fallback) = run(jnp.zeros(10, jnp.float32))
    values = np.append(np.asarray(values), float(rosenbrock(params)))
    assert np.all(np.diff(values) <= 0)
    assert values[-1] < 0.9 * values[0]
    assert bool(np.all(fallback))


def test_optax_accepts_increase_on_ascent_direction():
    with reference_mode():
        ref = optax.chain(optax.scale(-1.0), optax.lbfgs())
        ref_params = jnp.zeros(10, jnp.float32)
        ref_state = ref.init(ref_params)
        value, grad = jax.value_and_grad(rosenbrock)(ref_params)
        updates, _ = ref.update(
            grad, ref_state, ref_params, value=value, grad=grad, value_fn=rosenbrock
        )
        ref_value = float(rosenbrock(optax.apply_updates(ref_params, updates)))
    # optax 0.2.8 searches along the ascent direction and accepts an increase.
    assert ref_value > float(value)


def test_clipping_before_lbfgs_never_increases_objective():
    opt = optgrad.chain(_clip(5.0), optgrad.lbfgs())

    def step(carry, _):
        params, state = carry
        value, grad = jax.value_and_grad(rosenbrock)(params)
        updates, state = opt.update(
            grad, state, params, value=value, grad=grad, value_fn=rosenbrock
        )
        return (optgrad.apply_updates(params, updates), state), rosenbrock(params)

    @jax.jit
    def run(params):
        return jax.lax.scan(step, (params, opt.init(params)), None, 60)

    params0 = jnp.linspace(-1.5, 1.5, 10, dtype=jnp.float32)
    (params, _), values = run(params0)
    values = np.append(np.asarray(values), float(rosenbrock(params)))
    assert np.all(np.diff(values) <= 0)
    assert values[-1] < 1e-3 * values[0]


def _nan_except_at(start):
    def fn(x):
        outside = jnp.any(x != start)
        return jnp.sum(x**2) + jnp.where(outside, jnp.nan, 0.0)

    return fn


def test_failed_linesearch_leaves_params_unchanged():
    start = jnp.array([0.5, -1.0, 2.0], jnp.float32)
    fn = _nan_except_at(start)
    opt = optgrad.lbfgs()
    trajectory, state = _trajectory(optgrad, opt, fn, start, 3)
    for params in trajectory:
        np.testing.assert_array_equal(params, start)
    info = state[2].info
    assert bool(info.failed)
    assert float(state[2].learning_rate) == 0.0
    assert float(state[2].value) == float(fn(start))
    for leaf in jax.tree.leaves((state[0], state[2].grad)):
        assert np.all(np.isfinite(leaf))


# ---------------------------------------------------------------------------
# Contract: dtypes, pytrees, transformations


def test_bfloat16_params_keep_memory_in_float32():
    params = {"w": jnp.array([0.5, -0.5], jnp.bfloat16)}
    tx = optgrad.scale_by_lbfgs(memory_size=4)
    state = tx.init(params)
    assert state.diff_params_memory["w"].dtype == jnp.float32
    assert state.diff_params_memory["w"].shape == (4, 2)
    assert state.weights_memory.dtype == jnp.float32
    grads = {"w": jnp.array([1.0, -2.0], jnp.bfloat16)}
    direction, state = jax.jit(tx.update)(grads, state, params)
    assert direction["w"].dtype == jnp.bfloat16
    assert state.params["w"].dtype == jnp.bfloat16


def test_none_and_empty_leaves():
    def fn(params):
        return jnp.sum((params["w"] - 1.0) ** 2) + jnp.sum(params["zero"])

    params = {"w": jnp.zeros(3), "frozen": None, "empty": {}, "zero": jnp.zeros((0, 2))}
    opt = optgrad.lbfgs()
    state = opt.init(params)
    value, grad = jax.value_and_grad(fn)(params)
    updates, state = jax.jit(opt.update, static_argnames="value_fn")(
        grad, state, params, value=value, grad=grad, value_fn=fn
    )
    assert updates["frozen"] is None
    assert updates["empty"] == {}
    assert updates["zero"].shape == (0, 2)
    assert float(fn(optgrad.apply_updates(params, updates))) < float(value)


def test_vmap_matches_loop():
    opt = optgrad.lbfgs()
    step = _solver_step(optgrad, opt, rosenbrock)

    def two_steps(params):
        state = opt.init(params)
        for _ in range(2):
            params, state = step(params, state)
        return params

    starts = jnp.stack([jnp.full(4, c, jnp.float32) for c in (-1.0, 0.0, 0.5)])
    vmapped = jax.jit(jax.vmap(two_steps))(starts)
    single = jax.jit(two_steps)
    looped = jnp.stack([single(x) for x in starts])
    tree_allclose(vmapped, looped, rtol=1e-5, atol=1e-6)


def test_second_jit_call_does_not_retrace():
    opt = optgrad.lbfgs()
    step = _solver_step(optgrad, opt, rosenbrock)
    traces = []

    @jax.jit
    def traced_step(params, state):
        traces.append(1)
        return step(params, state)

    params = jnp.zeros(4)
    state = opt.init(params)
    params, state = traced_step(params, state)
    params, state = traced_step(params, state)
    assert len(traces) == 1


def test_rejects_invalid_arguments():
    with pytest.raises(ValueError, match=r"memory_size=0\) must be >= 1"):
        optgrad.lbfgs(memory_size=0)
    with pytest.raises(TypeError, match=r"memory_size=...\) must be an integer"):
        optgrad.scale_by_lbfgs(memory_size=2.5)
    with pytest.raises(TypeError, match=r"lbfgs\(linesearch=...\) must be"):
        optgrad.lbfgs(linesearch="zoom")


def test_update_without_params_raises():
    tx = optgrad.scale_by_lbfgs()
    state = tx.init(jnp.zeros(2))
    with pytest.raises(ValueError, match=r"scale_by_lbfgs\.update needs the current"):
        tx.update(jnp.ones(2), state)


def test_rejects_integer_params():
    with pytest.raises(TypeError, match=r"\['step'\]: dtype int32"):
        optgrad.lbfgs().init({"w": jnp.ones(2), "step": jnp.asarray(0)})
