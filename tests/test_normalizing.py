"""centralize and normalize_by_update_norm."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, run_transform, tree_allclose

import optgrad


def test_centralize_matches_numpy():
    rng = np.random.default_rng(0)
    grads = {
        "kernel": rng.normal(size=(3, 4, 2)),
        "bias": rng.normal(size=4),
        "scalar": np.asarray(2.0),
        "none": None,
    }
    as_jax = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), grads)
    tx = optgrad.centralize()
    updates, _ = tx.update(as_jax, tx.init(as_jax))
    kernel = grads["kernel"]
    np.testing.assert_allclose(
        updates["kernel"], kernel - kernel.mean(axis=(1, 2), keepdims=True), atol=1e-6
    )
    np.testing.assert_array_equal(updates["bias"], as_jax["bias"])
    np.testing.assert_array_equal(updates["scalar"], 2.0)
    assert updates["none"] is None


def test_centralize_bfloat16_keeps_dtype():
    grads = jnp.asarray([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]], jnp.bfloat16)
    tx = optgrad.centralize()
    updates, _ = tx.update(grads, tx.init(grads))
    assert updates.dtype == jnp.bfloat16
    np.testing.assert_array_equal(
        np.asarray(updates, np.float32), [[-2.0, -1.0, 3.0], [-1.0, -1.0, 2.0]]
    )


@pytest.mark.parametrize(("scale_factor", "eps"), [(1.0, 1e-6), (-2.0, 0.5)])
def test_normalize_matches_optax(scale_factor, eps):
    grads = {"a": jnp.array([3.0, -4.0]), "b": jnp.array([[12.0]]), "none": None}
    kwargs = {"scale_factor": scale_factor, "eps": eps}
    with reference_mode():
        expected, _ = run_transform(
            optax.normalize_by_update_norm(**kwargs), grads, [grads]
        )
    actual, _ = run_transform(
        optgrad.normalize_by_update_norm(**kwargs), grads, [grads]
    )
    tree_allclose(actual, expected)
    np.testing.assert_allclose(
        actual[0]["a"], scale_factor * np.array([3.0, -4.0]) / (13.0 + eps), rtol=1e-6
    )


def test_normalize_zero_updates_zero_eps():
    tx = optgrad.normalize_by_update_norm(eps=0.0)
    params = jnp.zeros(3)

    def total(g):
        updates, _ = tx.update(g, tx.init(params))
        return jnp.sum(updates)

    updates, _ = tx.update(jnp.zeros(3), tx.init(params))
    np.testing.assert_array_equal(updates, 0.0)
    assert np.all(np.isfinite(jax.grad(total)(jnp.zeros(3))))


@pytest.mark.parametrize(
    ("value", "dtype"), [(300.0, jnp.float16), (1e20, jnp.float32)]
)
def test_normalize_extreme_values(value, dtype):
    grads = jnp.full(100, value, dtype)
    tx = optgrad.normalize_by_update_norm(eps=0.0)
    updates, _ = tx.update(grads, tx.init(grads))
    assert updates.dtype == dtype
    np.testing.assert_allclose(np.asarray(updates, np.float32), 0.1, rtol=1e-3)
