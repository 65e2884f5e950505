"""Contract and parity tests over the whole optimizer catalogue."""

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import problems
import pytest
from helpers import OPTIMIZER_CASES, case_id, reference_mode, tree_allclose, tree_equal

import optgrad

CASES = pytest.mark.parametrize("case", OPTIMIZER_CASES, ids=case_id)


def _extra(case, params, grads, loss_fn=problems.loss):
    return case.extra_args(loss_fn, params, grads) if case.extra_args else {}


def _sum_of_squares(params):
    """A loss defined for any params tree, for tests off the problem's tree."""
    return sum(jnp.sum(x * x) for x in jax.tree.leaves(params))


def _run(opt, case, params, steps, grad_fn=problems.grad, loss_fn=problems.loss):
    """Run ``steps`` jitted steps; return the stacked params trajectory."""

    def step(carry, _):
        params, state = carry
        grads = grad_fn(params)
        extra = _extra(case, params, grads, loss_fn)
        updates, state = opt.update(grads, state, params, **extra)
        params = optgrad.apply_updates(params, updates)
        return (params, state), params

    @jax.jit
    def run(params):
        _, trajectory = jax.lax.scan(step, (params, opt.init(params)), None, steps)
        return trajectory

    return run(params)


def _relative_errors(actual, expected):
    def leaf(a, e):
        a = np.asarray(a, np.float64)
        e = np.asarray(e, np.float64)
        # Error at each step, relative to the leaf's largest magnitude.
        axes = tuple(range(1, e.ndim))
        scale = np.maximum(np.max(np.abs(e), axis=axes, initial=0.0), 1e-6)
        return np.max(np.abs(a - e), axis=axes, initial=0.0) / scale

    return jax.tree.map(leaf, actual, expected)


@CASES
def test_matches_optax(case):
    params = problems.initial_params()
    with reference_mode():
        expected = _run(case.build_reference(optax), case, params, 60)
    actual = _run(case.build(optgrad), case, params, 60)
    errors = _relative_errors(actual, expected)
    for path, error in jax.tree_util.tree_flatten_with_path(errors)[0]:
        worst = int(np.argmax(error))
        assert error[worst] <= case.parity_rtol, (
            f"{jax.tree_util.keystr(path)} differs from optax by {error[worst]:.2e} "
            f"(relative) at step {worst}"
        )


@CASES
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_keeps_structure_and_dtype(case, dtype):
    opt = case.build(optgrad)
    params = problems.initial_params(dtype)
    state = opt.init(params)
    grads = problems.grad(params)
    updates, new_state = opt.update(grads, state, params, **_extra(case, params, grads))
    assert jax.tree.structure(updates) == jax.tree.structure(params)
    for u, p in zip(jax.tree.leaves(updates), jax.tree.leaves(params), strict=True):
        assert u.shape == p.shape
        assert u.dtype == p.dtype
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    for a, b in zip(jax.tree.leaves(new_state), jax.tree.leaves(state), strict=True):
        assert a.shape == b.shape
        assert a.dtype == b.dtype


@CASES
def test_jitted_steps_match_eager_and_resume(case):
    """Jitted steps equal eager ones, trace once, and resume bit-exactly.

    One test checks all three so that the step compiles once per case.
    """
    opt = case.build(optgrad)
    traces = []

    def counted_update(grads, state, params, **extra):
        traces.append(1)
        return opt.update(grads, state, params, **extra)

    jitted_update = jax.jit(counted_update)

    def step(update_fn, params, state):
        grads = problems.grad(params)
        extra = _extra(case, params, grads)
        updates, state = update_fn(grads, state, params, **extra)
        return optgrad.apply_updates(params, updates), state

    params = problems.initial_params()
    eager_carry = jitted_carry = (params, opt.init(params))
    for _ in range(3):
        eager_carry = step(opt.update, *eager_carry)
        jitted_carry = step(jitted_update, *jitted_carry)
    tree_allclose(jitted_carry, eager_carry, rtol=1e-5, atol=1e-6)

    params, state = jitted_carry
    blob = flax.serialization.to_bytes(state)
    restored = flax.serialization.from_bytes(opt.init(params), blob)
    tree_equal(restored, state)
    resumed, original = (params, restored), (params, state)
    for _ in range(3):
        resumed = step(jitted_update, *resumed)
        original = step(jitted_update, *original)
    tree_equal(resumed, original)
    assert len(traces) == 1


@CASES
def test_vmap_matches_loop(case):
    opt = case.build(optgrad)
    batch = [problems.initial_params(seed=seed) for seed in (3, 4, 5)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *batch)

    def two_steps(params):
        state = opt.init(params)
        for _ in range(2):
            grads = problems.grad(params)
            extra = _extra(case, params, grads)
            updates, state = opt.update(grads, state, params, **extra)
            params = optgrad.apply_updates(params, updates)
        return params

    vmapped = jax.jit(jax.vmap(two_steps))(stacked)
    looped = [jax.jit(two_steps)(p) for p in batch]
    tree_allclose(vmapped, jax.tree.map(lambda *xs: jnp.stack(xs), *looped), rtol=1e-5)


@CASES
def test_converges_on_quadratic(case):
    opt = case.build(optgrad)
    params = problems.near_target_params()

    def grad_fn(p):
        return jax.grad(problems.quadratic)(p)

    trajectory = _run(
        opt, case, params, case.converge_steps, grad_fn, problems.quadratic
    )
    final = jax.tree.map(lambda x: x[-1], trajectory)
    start, end = float(problems.quadratic(params)), float(problems.quadratic(final))
    assert np.isfinite(end)
    assert end < 0.1 * start, f"loss went from {start:.3g} to {end:.3g}"


@CASES
def test_rejects_integer_params(case):
    opt = case.build(optgrad)
    with pytest.raises(TypeError, match=r"\['step'\]: dtype int32"):
        opt.init({"w": jnp.ones(2), "step": jnp.asarray(0)})


@CASES
def test_rejects_mismatched_gradients(case):
    opt = case.build(optgrad)
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(3)}
    state = opt.init(params)
    grads = {"w": jnp.ones((3, 2)), "b": jnp.ones(3)}
    expected = r"\['w'\]: updates have shape \(3, 2\), params have shape \(2, 3\)"
    extra = _extra(case, params, grads, _sum_of_squares)
    with pytest.raises(ValueError, match=expected):
        opt.update(grads, state, params, **extra)


@CASES
def test_rejects_integer_gradients(case):
    opt = case.build(optgrad)
    params = {"w": jnp.ones(3), "b": jnp.ones(2)}
    state = opt.init(params)
    grads = {"w": jnp.ones(3, jnp.int32), "b": jnp.ones(2)}
    extra = _extra(case, params, grads, _sum_of_squares)
    with pytest.raises(TypeError, match=r"updates must be floating-point") as info:
        jax.jit(opt.update)(grads, state, params, **extra)
    assert "['w']: dtype int32" in str(info.value)
    assert "['b']" not in str(info.value)


@CASES
def test_accepts_python_and_numpy_leaves(case):
    # jax_enable_x64 is off here and warnings are errors, so this also
    # checks that float64 leaves ask JAX for no float64 array.
    opt = case.build(optgrad)
    params = {"w": np.linspace(0.5, 1.5, 6).reshape(2, 3), "s": 1.5}
    grads = {"w": np.full((2, 3), 0.25), "s": -0.5}
    state = opt.init(params)
    updates, _ = opt.update(
        grads, state, params, **_extra(case, params, grads, _sum_of_squares)
    )

    as_float32 = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), (params, grads))
    expected_state = opt.init(as_float32[0])
    expected, _ = opt.update(
        as_float32[1],
        expected_state,
        as_float32[0],
        **_extra(case, *as_float32, _sum_of_squares),
    )
    tree_equal(updates, expected)


@CASES
def test_handles_none_and_empty_leaves(case):
    opt = case.build(optgrad)
    params = {"w": jnp.ones(3), "frozen": None, "empty": {}, "zero": jnp.zeros((0, 2))}
    state = opt.init(params)
    grads = {"w": jnp.ones(3), "frozen": None, "empty": {}, "zero": jnp.zeros((0, 2))}
    extra = _extra(case, params, grads, _sum_of_squares)
    updates, _ = opt.update(grads, state, params, **extra)
    assert updates["frozen"] is None
    assert updates["empty"] == {}
    assert updates["zero"].shape == (0, 2)
    assert np.all(np.isfinite(np.asarray(updates["w"])))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_sgd_accepts_16_bit_accumulator_dtype(dtype):
    opt = optgrad.sgd(0.1, momentum=0.9, accumulator_dtype=dtype)
    state = opt.init({"w": jnp.ones(2)})
    assert state[0].trace["w"].dtype == dtype


def test_sgd_rejects_integer_accumulator_dtype():
    with pytest.raises(TypeError, match=r"sgd\(accumulator_dtype=.*floating-point"):
        optgrad.sgd(0.1, momentum=0.9, accumulator_dtype=jnp.int32)
