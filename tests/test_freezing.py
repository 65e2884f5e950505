"""freeze and selective_transform."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def _params():
    return {"encoder": {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}, "head": jnp.ones(3)}


@pytest.mark.parametrize(
    ("mask", "frozen"),
    [
        (True, {"encoder": True, "head": True}),
        (False, {"encoder": False, "head": False}),
        ({"encoder": True, "head": False}, {"encoder": True, "head": False}),
        (
            lambda p: {"encoder": True, "head": False},
            {"encoder": True, "head": False},
        ),
    ],
    ids=["all", "none", "prefix_tree", "function"],
)
def test_freeze_zeroes_masked_updates(mask, frozen):
    params = _params()
    tx = optgrad.freeze(mask)
    updates, _ = tx.update(params, tx.init(params))
    for name, is_frozen in frozen.items():
        for leaf in jax.tree.leaves(updates[name]):
            np.testing.assert_array_equal(leaf, 0.0 if is_frozen else 1.0)


def test_selective_transform_matches_optax():
    params = _params()
    mask = {"encoder": {"w": True, "b": False}, "head": False}
    grads = jax.tree.map(lambda x: 0.3 * x, params)
    tx = optgrad.selective_transform(optgrad.adam(0.1), freeze_mask=mask)
    state = tx.init(params)
    with reference_mode():
        ref = optax.selective_transform(optax.adam(0.1), freeze_mask=mask)
        ref_state = ref.init(params)
    for _ in range(3):
        updates, state = tx.update(grads, state, params)
        with reference_mode():
            expected, ref_state = ref.update(grads, ref_state, params)
        # optax rounds Adam's bias correction differently (about 7e-6).
        tree_allclose(updates, expected, rtol=2e-5)
    np.testing.assert_array_equal(updates["encoder"]["w"], np.zeros((2, 2)))


def test_selective_transform_keeps_no_state_for_frozen_leaves():
    tx = optgrad.selective_transform(
        optgrad.adam(0.1), freeze_mask={"encoder": True, "head": False}
    )
    state = tx.init(_params())
    mu = state.inner_states["train"].inner_state[0].mu
    assert isinstance(mu["encoder"], optgrad.MaskedNode)
    assert mu["head"].shape == (3,)


def test_selective_transform_calls_function_mask():
    def freeze_encoder(params):
        return {"encoder": True, "head": False}

    params = _params()
    tx = optgrad.selective_transform(optgrad.sgd(1.0), freeze_mask=freeze_encoder)
    updates, _ = tx.update(params, tx.init(params), params)
    np.testing.assert_array_equal(updates["encoder"]["w"], np.zeros((2, 2)))
    np.testing.assert_array_equal(updates["head"], -np.ones(3))
