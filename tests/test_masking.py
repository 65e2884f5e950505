import equinox_like
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def _params():
    return {
        "w": jnp.arange(4.0).reshape(2, 2),
        "b": jnp.ones(2),
        "sub": {"c": jnp.ones(3)},
    }


@pytest.mark.parametrize(
    "mask",
    [
        {"w": True, "b": False, "sub": {"c": True}},
        {"w": False, "b": True, "sub": False},
        lambda p: jax.tree.map(lambda x: x.ndim > 1, p),
    ],
    ids=["tree", "prefix", "function"],
)
def test_masked_matches_optax(mask):
    params = _params()
    grads = jax.tree.map(lambda x: x * 0.5 + 1.0, params)
    with reference_mode():
        ref = optax.masked(optax.adam(0.1), mask)
        ref_state = ref.init(params)
        expected = []
        for _ in range(3):
            updates, ref_state = ref.update(grads, ref_state, params)
            expected.append(updates)
    tx = optgrad.masked(optgrad.adam(0.1), mask)
    state = tx.init(params)
    for want in expected:
        updates, state = tx.update(grads, state, params)
        tree_allclose(updates, want)


def test_masked_keeps_no_state_for_masked_leaves():
    tx = optgrad.masked(optgrad.adam(0.1), {"w": True, "b": False, "sub": False})
    state = tx.init(_params())
    mu = state.inner_state[0].mu
    assert isinstance(mu["b"], optgrad.MaskedNode)
    assert isinstance(mu["sub"], optgrad.MaskedNode)
    assert mu["w"].shape == (2, 2)


def test_masked_passes_masked_updates_unchanged():
    tx = optgrad.masked(optgrad.scale(0.0), {"w": False, "b": True, "sub": True})
    grads = jax.tree.map(jnp.ones_like, _params())
    updates, _ = tx.update(grads, tx.init(_params()), _params())
    np.testing.assert_array_equal(updates["w"], np.ones((2, 2)))
    np.testing.assert_array_equal(updates["b"], np.zeros(2))


def test_masked_under_jit():
    tx = optgrad.masked(
        optgrad.sgd(0.1, momentum=0.9), {"w": True, "b": False, "sub": True}
    )
    params = _params()
    state = tx.init(params)
    updates, _ = jax.jit(tx.update)(params, state, params)
    np.testing.assert_allclose(updates["w"], -0.1 * params["w"])
    np.testing.assert_array_equal(updates["b"], params["b"])


def test_callable_pytree_mask_is_a_tree():
    mask = equinox_like.CallableMask(w=True, b=False, sub={"c": False})
    assert not optgrad.transforms.is_mask_fn(mask)
    tx = optgrad.masked(optgrad.scale(0.0), mask)
    # The params are a module of the same class, as with Equinox models.
    params = equinox_like.CallableMask(
        w=jnp.ones(2), b=jnp.ones(2), sub={"c": jnp.ones(1)}
    )
    updates, _ = tx.update(params, tx.init(params), params)
    np.testing.assert_array_equal(updates["w"], [0.0, 0.0])
    np.testing.assert_array_equal(updates["b"], [1.0, 1.0])


def test_masked_rejects_mismatched_mask():
    tx = optgrad.masked(optgrad.scale(0.5), {"w": True})
    with pytest.raises(ValueError, match="mask must have the structure"):
        tx.init(_params())
