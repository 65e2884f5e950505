import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose, tree_equal

import optgrad


def _params():
    return {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3), "none": None}


def test_identity_returns_updates():
    tx = optgrad.identity()
    state = tx.init(_params())
    updates, new_state = tx.update(_params(), state)
    tree_equal(updates, _params())
    assert new_state == optgrad.EmptyState()


def test_set_to_zero_returns_zeros():
    tx = optgrad.set_to_zero()
    updates, _ = tx.update(_params(), tx.init(_params()))
    assert updates["none"] is None
    np.testing.assert_array_equal(updates["w"], np.zeros((2, 3)))


def test_stateless_passes_params():
    tx = optgrad.stateless(lambda u, p: jax.tree.map(lambda a, b: a + b, u, p))
    updates, state = tx.update({"a": jnp.ones(2)}, tx.init(None), {"a": jnp.ones(2)})
    np.testing.assert_array_equal(updates["a"], [2.0, 2.0])
    assert state == optgrad.EmptyState()


def test_stateless_with_tree_map_without_params():
    tx = optgrad.stateless_with_tree_map(lambda u, p: u * 2 if p is None else u + p)
    updates, _ = tx.update({"a": jnp.ones(2)}, tx.init(None))
    np.testing.assert_array_equal(updates["a"], [2.0, 2.0])
    updates, _ = tx.update({"a": jnp.ones(2)}, tx.init(None), {"a": jnp.ones(2)})
    np.testing.assert_array_equal(updates["a"], [2.0, 2.0])


def test_with_extra_args_support_ignores_extras():
    tx = optgrad.with_extra_args_support(optgrad.identity())
    assert isinstance(tx, optgrad.GradientTransformationExtraArgs)
    updates, _ = tx.update({"a": jnp.ones(1)}, tx.init(None), None, value=3.0)
    np.testing.assert_array_equal(updates["a"], [1.0])
    assert optgrad.with_extra_args_support(tx) is tx


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16])
def test_apply_updates_keeps_param_dtype(dtype):
    params = {"w": jnp.ones(3, dtype), "skip": None}
    updates = {"w": jnp.full(3, 0.5, jnp.float32), "skip": None}
    new = optgrad.apply_updates(params, updates)
    assert new["w"].dtype == dtype
    assert new["skip"] is None
    np.testing.assert_allclose(np.asarray(new["w"], np.float32), 1.5)


def test_apply_updates_matches_optax():
    params = _params()
    updates = jax.tree.map(lambda x: -0.1 * x, params)
    with reference_mode():
        expected = optax.apply_updates(params, updates)
    tree_allclose(optgrad.apply_updates(params, updates), expected)


def test_apply_updates_names_bad_leaf():
    params = {"a": jnp.ones((2, 3)), "b": jnp.ones(3)}
    updates = {"a": jnp.ones((3, 2)), "b": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"\['a'\].*\(2, 3\).*\(3, 2\)"):
        optgrad.apply_updates(params, updates)


def test_apply_updates_names_structure_difference():
    with pytest.raises(ValueError, match=r"leaves only in params: \['b'\]"):
        optgrad.apply_updates({"a": jnp.ones(1), "b": jnp.ones(1)}, {"a": jnp.ones(1)})


def test_apply_updates_accepts_integer_updates():
    # Only update's check requires float updates; apply_updates adds what it
    # is given and keeps each param's dtype, as optax does.
    new = optgrad.apply_updates(
        {"i": jnp.arange(3), "f": jnp.ones(2)},
        {"i": jnp.ones(3, jnp.int32), "f": jnp.ones(2, jnp.int32)},
    )
    np.testing.assert_array_equal(new["i"], [1, 2, 3])
    assert new["i"].dtype == jnp.int32
    np.testing.assert_array_equal(new["f"], [2.0, 2.0])
    assert new["f"].dtype == jnp.float32


def test_incremental_update_mixes():
    new = {"a": jnp.ones(2)}
    old = {"a": jnp.zeros(2)}
    mixed = optgrad.incremental_update(new, old, 0.25)
    np.testing.assert_allclose(mixed["a"], [0.25, 0.25])


def test_periodic_update_selects():
    new, old = {"a": jnp.ones(2)}, {"a": jnp.zeros(2)}
    np.testing.assert_array_equal(optgrad.periodic_update(new, old, 4, 2)["a"], [1, 1])
    np.testing.assert_array_equal(optgrad.periodic_update(new, old, 5, 2)["a"], [0, 0])
    with pytest.raises(ValueError, match="update_period"):
        optgrad.periodic_update(new, old, 5, 0)
