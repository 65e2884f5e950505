"""Lion's three sign modes against NumPy, and its checks."""

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import run_transform

import optgrad


def _shape(c, mode, smooth_beta):
    if mode == "hard":
        return np.sign(c)
    if mode == "smooth":
        return np.tanh(smooth_beta * c)
    return np.where(np.abs(c) < 1, c, np.sign(c))


@pytest.mark.parametrize("mode", ["hard", "smooth", "refined"])
def test_lion_matches_numpy(mode):
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(5, 7)) * 3.0
    grads[1] = 0.0
    b1, b2, smooth_beta = 0.8, 0.95, 2.0
    tx = optgrad.scale_by_lion(b1, b2, mode=mode, smooth_beta=smooth_beta)
    updates, state = run_transform(tx, jnp.zeros(7), [jnp.asarray(g) for g in grads])
    m = np.zeros(7)
    for g, actual in zip(grads, updates, strict=True):
        expected = _shape(b1 * m + (1 - b1) * g, mode, smooth_beta)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
        m = b2 * m + (1 - b2) * g
    np.testing.assert_allclose(state.mu, m, rtol=1e-5)
    assert int(state.count) == 5


def test_lion_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"scale_by_lion\(mode='soft'\).*'hard'"):
        optgrad.scale_by_lion(mode="soft")


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_lion_16bit_float32_momentum(dtype):
    params = jnp.zeros(3, dtype)
    grads = [jnp.asarray([1e-4, -3.0, 0.0], dtype)] * 3
    updates, state = run_transform(optgrad.scale_by_lion(), params, grads)
    assert state.mu.dtype == jnp.float32
    assert updates[-1].dtype == dtype
    np.testing.assert_array_equal(np.asarray(updates[-1], np.float32), [1, -1, 0])


def test_lion_weight_decay_uses_the_mask():
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
    grads = {"w": jnp.zeros((2, 2)), "b": jnp.zeros(2)}
    opt = optgrad.lion(0.1, weight_decay=0.5, mask={"w": True, "b": False})
    updates, _ = run_transform(opt, params, [grads])
    np.testing.assert_allclose(updates[0]["w"], -0.1 * 0.5)
    np.testing.assert_array_equal(updates[0]["b"], 0.0)
