import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad


def _params():
    return {"w": jnp.arange(4.0).reshape(2, 2) - 1.5, "b": jnp.ones(2), "none": None}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weight_decay": 0.1},
        {"weight_decay": 0.0},
        {"weight_decay": 0.1, "mask": {"w": True, "b": False, "none": None}},
        {"weight_decay": lambda count: 0.1 / (1.0 + count.astype(jnp.float32))},
        {"weight_decay": 0.1, "mask": lambda p: jax.tree.map(lambda x: x.ndim > 1, p)},
    ],
    ids=["constant", "zero", "mask-tree", "schedule", "mask-function"],
)
def test_add_decayed_weights_matches_optax(kwargs):
    params = _params()
    grads = jax.tree.map(lambda x: None if x is None else 0.5 * x, params)
    with reference_mode():
        ref = optax.add_decayed_weights(**kwargs)
        ref_state = ref.init(params)
        expected = []
        for _ in range(3):
            updates, ref_state = ref.update(grads, ref_state, params)
            expected.append(updates)
    tx = optgrad.add_decayed_weights(**kwargs)
    state = tx.init(params)
    for want in expected:
        updates, state = jax.jit(tx.update)(grads, state, params)
        tree_allclose(updates, want)


def test_add_decayed_weights_numpy_reference():
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([0.5, 0.5])}
    tx = optgrad.add_decayed_weights(0.25)
    updates, _ = tx.update(grads, tx.init(params), params)
    np.testing.assert_allclose(
        updates["w"], np.array([0.5, 0.5]) + 0.25 * np.array([1.0, -2.0])
    )


def test_add_decayed_weights_needs_params():
    tx = optgrad.add_decayed_weights(0.1)
    with pytest.raises(ValueError, match="needs the current params"):
        tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.ones(2)}))


def test_add_decayed_weights_rejects_negative_rate():
    with pytest.raises(ValueError, match=r"add_decayed_weights\(weight_decay=-0.1\)"):
        optgrad.add_decayed_weights(-0.1)


def test_add_decayed_weights_bfloat16_keeps_dtype():
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    tx = optgrad.add_decayed_weights(1e-3)
    updates, _ = tx.update({"w": jnp.zeros(3, jnp.bfloat16)}, tx.init(params), params)
    assert updates["w"].dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(updates["w"], np.float32), 1e-3, rtol=1e-2)
