"""flatten."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optgrad


def test_flatten_state_is_one_vector():
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(4)}
    state = optgrad.flatten(optgrad.adam(0.1)).init(params)
    assert state[0].mu.shape == (10,)


def test_flatten_equals_unflattened_for_elementwise_inner():
    rng = np.random.default_rng(0)
    params = {"w": jnp.asarray(rng.normal(size=(2, 3)), jnp.float32), "b": jnp.ones(4)}
    grads = jax.tree.map(lambda x: 0.5 * x - 0.25, params)
    flat = optgrad.flatten(optgrad.adam(0.1))
    plain = optgrad.adam(0.1)
    flat_state, plain_state = flat.init(params), plain.init(params)
    for _ in range(3):
        flat_updates, flat_state = flat.update(grads, flat_state, params)
        plain_updates, plain_state = plain.update(grads, plain_state, params)
    for a, b in zip(
        jax.tree.leaves(flat_updates), jax.tree.leaves(plain_updates), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_flatten_mixed_dtypes_keep_their_dtype():
    params = {"half": jnp.ones(3, jnp.bfloat16), "full": jnp.ones(2, jnp.float32)}
    tx = optgrad.flatten(optgrad.sgd(0.5))
    updates, _ = tx.update(params, tx.init(params), params)
    assert updates["half"].dtype == jnp.bfloat16
    assert updates["full"].dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(updates["half"], np.float32), [-0.5] * 3)


@pytest.mark.parametrize(
    "params", [{}, {"nothing": None}, {"zero": jnp.zeros((0, 3))}], ids=str
)
def test_flatten_empty_trees(params):
    tx = optgrad.flatten(optgrad.adam(0.1))
    updates, _ = tx.update(params, tx.init(params), params)
    assert jax.tree.structure(updates) == jax.tree.structure(params)


def test_flatten_checks_shapes():
    tx = optgrad.flatten(optgrad.sgd(0.1))
    params = {"w": jnp.ones((2, 3))}
    with pytest.raises(ValueError, match=r"flatten.update.*\['w'\]"):
        tx.update({"w": jnp.ones(6)}, tx.init(params), params)
