"""Clipping by value, global norm, block RMS and unit-wise norms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, run_transform, tree_allclose

import optgrad
from optgrad import transforms


def _grads():
    rng = np.random.default_rng(0)
    return {
        "w": jnp.asarray(rng.normal(size=(4, 3)) * 3.0, jnp.float32),
        "b": jnp.asarray(rng.normal(size=3) * 0.1, jnp.float32),
        "none": None,
    }


def test_clip_matches_numpy_and_keeps_nan():
    grads = jnp.array([-3.0, -0.5, 0.0, 0.5, 3.0, jnp.nan])
    tx = optgrad.clip(1.0)
    updates, _ = tx.update(grads, tx.init(grads))
    np.testing.assert_array_equal(updates, [-1.0, -0.5, 0.0, 0.5, 1.0, np.nan])


def test_clip_rejects_complex_updates():
    grads = {"z": jnp.ones(2, jnp.complex64)}
    tx = optgrad.clip(1.0)
    with pytest.raises(TypeError, match=r"clip.update: complex updates .* \['z'\]"):
        tx.update(grads, tx.init(grads))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("clip", {"max_delta": 0.5}),
        ("clip_by_global_norm", {"max_norm": 2.0}),
        ("clip_by_global_norm", {"max_norm": 100.0}),
        ("clip_by_block_rms", {"threshold": 0.5}),
        ("adaptive_grad_clip", {"clipping": 0.1}),
        ("adaptive_grad_clip", {"clipping": 0.1, "axis": -1}),
    ],
)
def test_matches_optax(name, kwargs):
    grads = _grads()
    params = jax.tree.map(lambda g: None if g is None else 1.0 - g, grads)
    with reference_mode():
        expected, _ = run_transform(getattr(optax, name)(**kwargs), params, [grads])
    actual, _ = run_transform(getattr(optgrad, name)(**kwargs), params, [grads])
    assert actual[0]["none"] is None
    tree_allclose(actual, expected, rtol=1e-6, atol=1e-7)


def test_global_norm_matches_numpy():
    grads = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([[12.0]])}
    tx = optgrad.clip_by_global_norm(6.5)
    updates, _ = tx.update(grads, tx.init(grads))
    np.testing.assert_allclose(updates["a"], [1.5, 2.0], rtol=1e-6)
    np.testing.assert_allclose(updates["b"], [[6.0]], rtol=1e-6)


def test_global_norm_zero_max_norm():
    grads = {"a": jnp.zeros(3), "b": jnp.zeros((2, 2))}
    tx = optgrad.clip_by_global_norm(0.0)
    updates, _ = tx.update(grads, tx.init(grads))
    for leaf in jax.tree.leaves(updates):
        np.testing.assert_array_equal(leaf, 0.0)


@pytest.mark.parametrize(
    ("value", "dtype"), [(300.0, jnp.float16), (1e20, jnp.float32)]
)
def test_global_norm_extreme_values(value, dtype):
    # 100 equal elements: the norm is 10 * value; clipped to 1, each is 0.1.
    grads = {"g": jnp.full(100, value, dtype)}
    tx = optgrad.clip_by_global_norm(1.0)
    updates, _ = tx.update(grads, tx.init(grads))
    assert updates["g"].dtype == dtype
    np.testing.assert_allclose(np.asarray(updates["g"], np.float32), 0.1, rtol=1e-3)


@pytest.mark.parametrize("max_norm", [0.0, 1.0])
def test_global_norm_derivative_at_zero(max_norm):
    tx = optgrad.clip_by_global_norm(max_norm)
    params = jnp.zeros(3)

    def total(g):
        updates, _ = tx.update(g, tx.init(params))
        return jnp.sum(updates)

    grad = jax.grad(total)(jnp.zeros(3))
    assert np.all(np.isfinite(grad))


def test_block_rms_matches_numpy():
    grads = {"big": jnp.array([3.0, -4.0]), "small": jnp.array([0.1, 0.1])}
    tx = optgrad.clip_by_block_rms(1.0)
    updates, _ = tx.update(grads, tx.init(grads))
    rms = np.sqrt((9.0 + 16.0) / 2)
    np.testing.assert_allclose(updates["big"], np.array([3.0, -4.0]) / rms, rtol=1e-6)
    np.testing.assert_array_equal(updates["small"], grads["small"])


@pytest.mark.parametrize(
    ("value", "dtype"), [(300.0, jnp.float16), (1e20, jnp.float32)]
)
def test_block_rms_extreme_values(value, dtype):
    grads = jnp.full(100, value, dtype)
    tx = optgrad.clip_by_block_rms(2.0)
    updates, _ = tx.update(grads, tx.init(grads))
    np.testing.assert_allclose(np.asarray(updates, np.float32), 2.0, rtol=1e-3)


def test_block_rms_zero_threshold_empty_leaf():
    grads = {"zero": jnp.zeros(3), "empty": jnp.zeros((0, 2))}
    tx = optgrad.clip_by_block_rms(0.0)
    updates, _ = tx.update(grads, tx.init(grads))
    np.testing.assert_array_equal(updates["zero"], 0.0)
    assert updates["empty"].shape == (0, 2)

    def total(g):
        return jnp.sum(tx.update({"zero": g}, tx.init({"zero": g}))[0]["zero"])

    assert np.all(np.isfinite(jax.grad(total)(jnp.zeros(3))))


def test_agc_matches_numpy():
    params = jnp.array([[3.0, 0.0], [4.0, 0.0]])
    grads = jnp.array([[1.0, 1.0], [1.0, 0.0]])
    tx = optgrad.adaptive_grad_clip(0.1, eps=1e-3)
    updates, _ = tx.update(grads, tx.init(params), params)
    # Column norms: params (5, 0), grads (sqrt(2), 1). Limits 0.5 and 1e-4.
    np.testing.assert_allclose(updates[:, 0], [0.5 / np.sqrt(2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(updates[:, 1], [1e-4, 0.0], rtol=1e-5)


def test_agc_needs_params():
    tx = optgrad.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match="adaptive_grad_clip needs the current params"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_agc_names_six_dim_leaf():
    params = {"deep": jnp.ones((1, 2, 1, 2, 1, 2))}
    tx = optgrad.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match=r"\['deep'\] has shape \(1, 2, 1, 2, 1, 2\)"):
        tx.update(params, tx.init(params), params)
    explicit = optgrad.adaptive_grad_clip(0.1, axis=(0, 1))
    updates, _ = explicit.update(params, explicit.init(params), params)
    assert updates["deep"].shape == (1, 2, 1, 2, 1, 2)


def test_agc_float16_large_values():
    params = jnp.full((100, 2), 1000.0, jnp.float16)
    grads = jnp.full((100, 2), 300.0, jnp.float16)
    tx = optgrad.adaptive_grad_clip(0.1)
    updates, _ = tx.update(grads, tx.init(params), params)
    # Unit norms: params 10000, grads 3000 > 0.1 * 10000, so scale to 1000.
    np.testing.assert_allclose(np.asarray(updates, np.float32), 100.0, rtol=1e-3)


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (2, 2, 3, 4)])
def test_unitwise_norm_matches_optax(shape):
    x = jnp.asarray(np.random.default_rng(0).normal(size=shape), jnp.float32)
    with reference_mode():
        expected = optax.transforms.unitwise_norm(x)
    np.testing.assert_allclose(transforms.unitwise_norm(x), expected, rtol=1e-6)


def test_unitwise_clip_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"one shape, got \(2,\), \(3,\) and \(2,\)"):
        transforms.unitwise_clip(jnp.ones(2), jnp.ones(3), jnp.ones(2))


def test_clipping_rejects_negative_bounds():
    with pytest.raises(ValueError, match=r"clip_by_global_norm\(max_norm=-1.0\)"):
        optgrad.clip_by_global_norm(-1.0)
    with pytest.raises(ValueError, match=r"clip\(max_delta=-0.5\)"):
        optgrad.clip(-0.5)
