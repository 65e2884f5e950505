"""Adan against a NumPy reference, with 16-bit inputs."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, run_transform, tree_allclose

import optgrad


def _adan_reference(grads, b1, b2, b3, eps, eps_root):
    m = v = n = previous = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        diff = np.zeros_like(g) if t == 1 else g - previous
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * diff
        n = b3 * n + (1 - b3) * (g + (1 - b2) * diff) ** 2
        direction = m / (1 - b1**t) + (1 - b2) * v / (1 - b2**t)
        out.append(direction / (np.sqrt(n / (1 - b3**t) + eps_root) + eps))
        previous = g
    return np.stack(out)


def _gradients(steps=5, seed=0):
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(steps, 6)) * 10.0 ** rng.uniform(-2, 1, (steps, 1))
    grads[2] = 0.0
    return grads


@pytest.mark.parametrize("eps_root", [0.0, 1e-8])
def test_adan_matches_numpy(eps_root):
    grads = _gradients()
    tx = optgrad.scale_by_adan(0.9, 0.8, 0.95, 1e-8, eps_root)
    updates, state = run_transform(tx, jnp.zeros(6), [jnp.asarray(g) for g in grads])
    expected = _adan_reference(grads, 0.9, 0.8, 0.95, 1e-8, eps_root)
    np.testing.assert_allclose(np.stack(updates), expected, rtol=2e-5, atol=1e-7)
    assert int(state.t) == len(grads)
    np.testing.assert_allclose(state.g, grads[-1], rtol=1e-6)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_adan_16bit_matches_float32(dtype):
    grads = np.asarray(jnp.asarray(_gradients(), dtype), np.float32)
    wide, _ = run_transform(
        optgrad.scale_by_adan(), jnp.zeros(6), [jnp.asarray(g) for g in grads]
    )
    narrow, state = run_transform(
        optgrad.scale_by_adan(),
        jnp.zeros(6, dtype),
        [jnp.asarray(g, dtype) for g in grads],
    )
    assert all(u.dtype == dtype for u in narrow)
    assert state.n.dtype == jnp.float32
    assert state.g.dtype == jnp.float32
    rtol = 2e-3 if dtype == jnp.float16 else 1e-2
    np.testing.assert_allclose(
        np.stack(narrow).astype(np.float32), np.stack(wide), rtol=rtol, atol=1e-6
    )


def test_adan_none_leaves_match_optax():
    params = {"w": jnp.ones((2, 2)), "none": None}
    grads = [{"w": jnp.full((2, 2), float(k)), "none": None} for k in (1, -2, 3)]
    with reference_mode():
        expected, _ = run_transform(optax.scale_by_adan(), params, grads)
    actual, _ = run_transform(optgrad.scale_by_adan(), params, grads)
    assert actual[0]["none"] is None
    tree_allclose(actual, expected, rtol=1e-5)


def test_adan_state_names_match_optax():
    assert optgrad.ScaleByAdanState._fields == optax.ScaleByAdanState._fields
