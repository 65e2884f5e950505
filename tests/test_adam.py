"""Adam, AdamW and NAdam: 16-bit params, NumPy references and masks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import MATRICES_ONLY, reference_mode, run_transform, tree_allclose

import optgrad


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    [(optgrad.adam, {}), (optgrad.adamw, {"weight_decay": 0.0}), (optgrad.nadam, {})],
    ids=["adam", "adamw", "nadam"],
)
def test_float16_zero_gradient(factory, kwargs):
    params = jnp.ones(3, jnp.float16)
    opt = factory(1e-3, **kwargs)
    updates, _ = opt.update(jnp.zeros(3, jnp.float16), opt.init(params), params)
    assert updates.dtype == jnp.float16
    np.testing.assert_array_equal(np.asarray(updates, np.float32), 0.0)


def test_float16_small_gradient():
    params = jnp.ones(3, jnp.float16)
    opt = optgrad.adam(1e-3)
    updates, state = opt.update(
        jnp.full(3, 1e-4, jnp.float16), opt.init(params), params
    )
    # m_hat = g and v_hat = g**2, so the first step is -lr * g / (|g| + eps).
    expected = -1e-3 * 1e-4 / (1e-4 + 1e-8)
    np.testing.assert_allclose(np.asarray(updates, np.float32), expected, rtol=1e-3)
    assert state[0].nu.dtype == jnp.float32
    assert state[0].mu.dtype == jnp.float32


def _adam_reference(grads, b1=0.9, b2=0.999, eps=1e-8, lr=1e-3):
    """Adam in float32 NumPy; returns the last update and the second moment."""
    b1, b2, eps = np.float32(b1), np.float32(b2), np.float32(eps)
    m = np.zeros_like(grads[0])
    v = np.zeros_like(grads[0])
    for t, g in enumerate(grads, start=1):
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * g * g + b2 * v
        m_hat = m / (1 - b1 ** np.float32(t))
        v_hat = v / (1 - b2 ** np.float32(t))
        update = -np.float32(lr) * m_hat / (np.sqrt(v_hat) + eps)
    return update, v


def test_bfloat16_second_moment_decays():
    steps = 2000
    rng = np.random.default_rng(0)
    # Gradient magnitudes fall from 1 to 1e-2, so the second moment must decay.
    scales = np.geomspace(1.0, 1e-2, steps)[:, None]
    grads = jnp.asarray(rng.normal(size=(steps, 4)) * scales, jnp.bfloat16)
    params = jnp.zeros(4, jnp.bfloat16)
    opt = optgrad.adam(1e-3)

    def step(state, g):
        updates, state = opt.update(g, state, params)
        return state, updates

    state, updates = jax.jit(lambda s: jax.lax.scan(step, s, grads))(opt.init(params))
    expected_update, expected_nu = _adam_reference(np.asarray(grads, np.float32))
    np.testing.assert_allclose(state[0].nu, expected_nu, rtol=1e-4)
    np.testing.assert_allclose(
        np.asarray(updates[-1], np.float32), expected_update, rtol=1e-2
    )


@pytest.mark.parametrize("nesterov", [False, True])
def test_adamw_matches_numpy(nesterov):
    lr, b1, b2, eps, decay = 1e-2, 0.9, 0.999, 1e-8, 0.1
    params = {"w": jnp.array([[1.0, -2.0], [0.5, 3.0]]), "b": jnp.array([0.5, -0.5])}
    grads = [
        jax.tree.map(lambda p, k=k: (k + 1.0) * 0.3 * p - 0.1, params) for k in range(3)
    ]
    opt = optgrad.adamw(
        lr, weight_decay=decay, mask={"w": True, "b": False}, nesterov=nesterov
    )
    updates, _ = run_transform(opt, params, grads)
    for name in ("w", "b"):
        p = np.asarray(params[name], np.float64)
        m = v = np.zeros_like(p)
        for t, g in enumerate(grads, start=1):
            g = np.asarray(g[name], np.float64)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            if nesterov:
                m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
            else:
                m_hat = m / (1 - b1**t)
            direction = m_hat / (np.sqrt(v / (1 - b2**t)) + eps)
            if name == "w":
                direction = direction + decay * p
            np.testing.assert_allclose(
                updates[t - 1][name], -lr * direction, rtol=1e-5, atol=1e-8
            )


@pytest.mark.parametrize("factory", ["adamw", "nadamw"])
def test_mask_function_matches_optax(factory):
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(3), "frozen": None}
    grads = [
        jax.tree.map(lambda p, k=k: None if p is None else 0.1 * k * p, params)
        for k in range(1, 4)
    ]
    kwargs = {"learning_rate": 1e-2, "weight_decay": 0.5, "mask": MATRICES_ONLY}
    with reference_mode():
        expected, _ = run_transform(getattr(optax, factory)(**kwargs), params, grads)
    actual, _ = run_transform(getattr(optgrad, factory)(**kwargs), params, grads)
    tree_allclose(actual, expected)
    assert actual[0]["frozen"] is None


def test_nadam_equals_adam_with_nesterov():
    params = {"w": jnp.array([1.0, -1.0, 2.0])}
    grads = [{"w": jnp.array([0.3, -0.2, 0.1]) * k} for k in range(1, 4)]
    nadam, _ = run_transform(optgrad.nadam(1e-2, b1=0.8), params, grads)
    adam, _ = run_transform(optgrad.adam(1e-2, b1=0.8, nesterov=True), params, grads)
    tree_allclose(nadam, adam, rtol=0, atol=0)
