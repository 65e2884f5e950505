import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree

import optgrad


def _run(tx, params, grads_seq):
    """Apply descent steps ``params - update``; return the updates and state."""
    state = tx.init(params)
    update = jax.jit(tx.update)
    outputs = []
    for grads in grads_seq:
        updates, state = update(grads, state, params)
        outputs.append(updates)
        params = jax.tree.map(lambda p, u: p - u, params, updates)
    return outputs, state


@pytest.mark.parametrize(
    "kwargs", [{}, {"reps_rel": 1e-2, "eps": 1e-4, "global_scale": -1.0}]
)
def test_scale_by_distance_over_gradients_matches_optax(kwargs):
    params = params_tree()
    # optax 0.2.8 returns (1,)-shaped updates for scalar params.
    del params["s"]
    grads = gradient_sequence(params, 4)
    with reference_mode():
        expected, expected_state = _run(
            optax.scale_by_distance_over_gradients(**kwargs), params, grads
        )
    actual, state = _run(
        optgrad.scale_by_distance_over_gradients(**kwargs), params, grads
    )
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(got, want, rtol=1e-5, atol=1e-7)
    tree_allclose(state.max_dist, expected_state.max_dist, rtol=1e-5)
    tree_allclose(
        state.grad_sum_of_squares,
        jax.tree.map(lambda x: x.reshape(()), expected_state.grad_sum_of_squares),
        rtol=1e-5,
    )


def test_scale_by_distance_over_gradients_numpy_reference():
    reps, eps = 1e-2, 1e-8
    x0 = np.array([3.0, 4.0])
    g = [np.array([1.0, 0.0]), np.array([0.0, 2.0])]
    tx = optgrad.scale_by_distance_over_gradients(reps_rel=reps, eps=eps)
    outputs, state = _run(tx, jnp.asarray(x0), [jnp.asarray(v) for v in g])
    x, distance, total = x0.copy(), reps * (1 + np.linalg.norm(x0)), 0.0
    for v, out in zip(g, outputs, strict=True):
        distance = max(distance, np.linalg.norm(x - x0))
        total += np.sum(v**2)
        expected = distance / np.sqrt(total + eps) * v
        np.testing.assert_allclose(out, expected, rtol=1e-5)
        x = x - expected
    np.testing.assert_allclose(state.max_dist, distance, rtol=1e-5)
    assert state.grad_sum_of_squares.shape == ()


def test_scale_by_distance_over_gradients_scalar_leaf_keeps_shape():
    tx = optgrad.scale_by_distance_over_gradients()
    params = {"s": jnp.asarray(2.0), "none": None, "empty": jnp.zeros((0, 2))}
    grads = {"s": jnp.asarray(1.0), "none": None, "empty": jnp.zeros((0, 2))}
    updates, _ = tx.update(grads, tx.init(params), params)
    assert updates["s"].shape == ()
    assert updates["none"] is None
    assert updates["empty"].shape == (0, 2)


def test_scale_by_distance_over_gradients_large_params():
    # ||x0|| = 2e20 overflows a float32 sum of squares.
    params = jnp.full(4, 1e20, jnp.float32)
    tx = optgrad.scale_by_distance_over_gradients(reps_rel=1e-20, eps=0.0)
    state = tx.init(params)
    np.testing.assert_allclose(state.max_dist, 1e-20 * (1 + 2e20), rtol=1e-5)
    updates, _ = tx.update(jnp.ones(4), state, params)
    np.testing.assert_allclose(updates, np.full(4, 1.0), rtol=1e-5)


def test_scale_by_distance_over_gradients_zero_gradient():
    tx = optgrad.scale_by_distance_over_gradients(eps=0.0)
    params = jnp.zeros(3)
    updates, _ = tx.update(jnp.zeros(3), tx.init(params), params)
    np.testing.assert_array_equal(updates, np.zeros(3))


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_scale_by_distance_over_gradients_16bit(dtype):
    params = jnp.full(8, 300.0, dtype)
    tx = optgrad.scale_by_distance_over_gradients(reps_rel=1e-3)
    state = tx.init(params)
    assert state.max_dist.dtype == jnp.float32
    assert state.init_params.dtype == jnp.float32
    np.testing.assert_allclose(state.max_dist, 1e-3 * (1 + 300 * np.sqrt(8)), rtol=1e-3)
    updates, _ = tx.update(jnp.ones(8, dtype), state, params)
    assert updates.dtype == dtype
    assert np.all(np.isfinite(np.asarray(updates, np.float32)))


def test_scale_by_distance_over_gradients_param_dtype_none():
    tx = optgrad.scale_by_distance_over_gradients(param_dtype=None)
    state = tx.init(jnp.ones(2, jnp.bfloat16))
    assert state.init_params.dtype == jnp.bfloat16


def test_scale_by_distance_over_gradients_needs_params():
    tx = optgrad.scale_by_distance_over_gradients()
    with pytest.raises(ValueError, match="needs the current params"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_scale_by_distance_over_gradients_rejects_zero_reps():
    with pytest.raises(ValueError, match=r"reps_rel must be > 0"):
        optgrad.scale_by_distance_over_gradients(reps_rel=0.0)
