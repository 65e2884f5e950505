"""keep_params_nonnegative and zero_nans."""

import jax.numpy as jnp
import numpy as np
import pytest

import optgrad


def test_nonnegative_matches_numpy():
    params = {"w": jnp.array([1.0, 1.0, 0.5, -1.0]), "none": None}
    updates = {"w": jnp.array([-2.0, -0.5, 0.0, 0.5]), "none": None}
    tx = optgrad.keep_params_nonnegative()
    new_updates, _ = tx.update(updates, tx.init(params), params)
    np.testing.assert_array_equal(new_updates["w"], [-1.0, -0.5, 0.0, 1.0])
    assert new_updates["none"] is None
    new_params = optgrad.apply_updates(params, new_updates)
    assert np.all(np.asarray(new_params["w"]) >= 0)


def test_nonnegative_bfloat16_params():
    params = jnp.array([1.0, 2.0], jnp.bfloat16)
    updates = jnp.array([-1.5, -1.0], jnp.float32)
    tx = optgrad.keep_params_nonnegative()
    new_updates, _ = tx.update(updates, tx.init(params), params)
    assert new_updates.dtype == jnp.float32
    np.testing.assert_array_equal(new_updates, [-1.0, -1.0])


def test_nonnegative_needs_params():
    tx = optgrad.keep_params_nonnegative()
    with pytest.raises(ValueError, match="keep_params_nonnegative needs the current"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_zero_nans_reports_leaves():
    params = {
        "a": jnp.ones(3),
        "b": jnp.ones(2),
        "c": jnp.ones(2, jnp.complex64),
        "none": None,
    }
    grads = {
        "a": jnp.array([1.0, jnp.nan, -jnp.inf]),
        "b": jnp.array([2.0, 3.0]),
        "c": jnp.array([1 + 1j, complex(0.0, np.nan)], jnp.complex64),
        "none": None,
    }
    tx = optgrad.zero_nans()
    state = tx.init(params)
    assert not bool(state.found_nan["a"])
    updates, state = tx.update(grads, state, params)
    np.testing.assert_array_equal(updates["a"], [1.0, 0.0, -np.inf])
    np.testing.assert_array_equal(updates["b"], [2.0, 3.0])
    np.testing.assert_array_equal(updates["c"], [1 + 1j, 0])
    assert updates["none"] is None
    assert bool(state.found_nan["a"])
    assert not bool(state.found_nan["b"])
    assert bool(state.found_nan["c"])


def test_zero_nans_float16():
    grads = jnp.array([jnp.nan, 1.0], jnp.float16)
    tx = optgrad.zero_nans()
    updates, state = tx.update(grads, tx.init(grads))
    assert updates.dtype == jnp.float16
    np.testing.assert_array_equal(np.asarray(updates, np.float32), [0.0, 1.0])
    assert bool(state.found_nan)
