import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree, run_updates

import optgrad


@pytest.mark.parametrize("kwargs", [{}, {"alpha": 0.5, "beta": 2.0}])
def test_scale_by_optimistic_gradient_matches_optax(kwargs):
    params = params_tree()
    grads = gradient_sequence(params, 4)
    with reference_mode():
        expected, _ = run_updates(
            optax.scale_by_optimistic_gradient(**kwargs), params, grads
        )
    actual, _ = run_updates(
        optgrad.scale_by_optimistic_gradient(**kwargs), params, grads
    )
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_scale_by_optimistic_gradient_numpy_reference():
    alpha, beta = 0.5, 2.0
    g = [np.array([1.0, -2.0]), np.array([3.0, 0.5]), np.array([-1.0, 1.0])]
    tx = optgrad.scale_by_optimistic_gradient(alpha=alpha, beta=beta)
    outputs, state = run_updates(tx, jnp.zeros(2), [jnp.asarray(x) for x in g])
    np.testing.assert_allclose(outputs[0], alpha * g[0], rtol=1e-6)
    for t in (1, 2):
        expected = (alpha + beta) * g[t] - beta * g[t - 1]
        np.testing.assert_allclose(outputs[t], expected, rtol=1e-6)
    assert not bool(state.is_initial_step)


def test_optimistic_gradient_descent_converges_on_bilinear_game():
    # min_x max_y x * y: simultaneous gradient descent-ascent spirals out,
    # while the optimistic correction converges to (0, 0).
    def field(z):
        x, y = z[0], z[1]
        return jnp.stack([y, -x])

    def run(tx):
        def step(carry, _):
            z, state = carry
            updates, state = tx.update(field(z), state, z)
            return (optgrad.apply_updates(z, updates), state), None

        z0 = jnp.asarray([1.0, 1.0])
        (z, _), _ = jax.lax.scan(step, (z0, tx.init(z0)), None, 500)
        return float(jnp.linalg.norm(z))

    assert run(optgrad.optimistic_gradient_descent(0.2)) < 1e-3
    assert run(optgrad.sgd(0.2)) > 10.0


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_scale_by_optimistic_gradient_16bit(dtype):
    params = params_tree(dtype)
    grads = gradient_sequence(params, 2)
    outputs, state = run_updates(optgrad.scale_by_optimistic_gradient(), params, grads)
    for leaf in jax.tree.leaves(state.previous_gradient):
        assert leaf.dtype == jnp.float32
    for leaf in jax.tree.leaves(outputs[-1]):
        assert leaf.dtype == dtype


def test_optimistic_gradient_descent_rejects_schedules():
    with pytest.raises(TypeError, match="Schedules are not supported"):
        optgrad.optimistic_gradient_descent(0.1, alpha=lambda count: 1.0)
    with pytest.raises(ValueError, match=r"optimistic_gradient_descent\(beta=-1.0\)"):
        optgrad.optimistic_gradient_descent(0.1, beta=-1.0)
