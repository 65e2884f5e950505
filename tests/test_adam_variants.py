"""AMSGrad, Adamax, RAdam, Yogi and AdaBelief against NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, run_transform, tree_allclose

import optgrad


def _gradients(steps=6, shape=(5,), seed=0):
    """Gradients of mixed scales, with an all-zero step in the middle."""
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(steps, *shape)) * 10.0 ** rng.uniform(-2, 1, (steps, 1))
    grads[steps // 2] = 0.0
    return grads


def _run(tx, grads, dtype=jnp.float32):
    params = jnp.zeros(grads.shape[1:], dtype)
    updates, state = run_transform(tx, params, [jnp.asarray(g, dtype) for g in grads])
    return np.stack([np.asarray(u, np.float64) for u in updates]), state


def _amsgrad_reference(grads, b1, b2, eps, eps_root, correct_mu, correct_nu):
    m = v = v_max = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v / (1 - b2**t) if correct_nu else v)
        m_hat = m / (1 - b1**t) if correct_mu else m
        out.append(m_hat / (np.sqrt(v_max + eps_root) + eps))
    return np.stack(out)


@pytest.mark.parametrize("correct", [True, False])
def test_amsgrad_matches_numpy(correct):
    grads = _gradients()
    tx = optgrad.scale_by_amsgrad(
        0.8, 0.95, 1e-8, 1e-10, bias_correction_mu=correct, bias_correction_nu=correct
    )
    actual, state = _run(tx, grads)
    expected = _amsgrad_reference(grads, 0.8, 0.95, 1e-8, 1e-10, correct, correct)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=1e-7)
    assert int(state.count) == len(grads)


def test_adamax_matches_numpy():
    grads = _gradients()
    b1, b2, eps = 0.8, 0.9, 1e-8
    m = s = np.zeros_like(grads[0])
    expected = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        s = np.maximum(np.abs(g) + eps, b2 * s)
        expected.append(m / (1 - b1**t) / s)
    actual, _ = _run(optgrad.scale_by_adamax(b1, b2, eps), grads)
    np.testing.assert_allclose(actual, np.stack(expected), rtol=2e-5, atol=1e-7)


def _radam_reference(grads, b1, b2, eps, threshold, nesterov):
    rho_inf = 2 / (1 - b2) - 1
    m = v = np.zeros_like(grads[0])
    out = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if nesterov:
            m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        else:
            m_hat = m / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho >= threshold:
            r = np.sqrt(
                (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
            )
            out.append(r * m_hat / (np.sqrt(v / (1 - b2**t)) + eps))
        else:
            out.append(m_hat)
    return np.stack(out)


@pytest.mark.parametrize("nesterov", [False, True])
def test_radam_matches_numpy(nesterov):
    # With b2 = 0.8, rho_t passes 5 at the fourth step.
    grads = _gradients(steps=8)
    tx = optgrad.scale_by_radam(0.9, 0.8, 1e-8, threshold=5.0, nesterov=nesterov)
    actual, _ = _run(tx, grads)
    expected = _radam_reference(grads, 0.9, 0.8, 1e-8, 5.0, nesterov)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=1e-7)


def test_radam_threshold_below_four_is_finite():
    # With b2 = 0.999, rho_t is about 3.0 and 4.0 (just below) at steps 3 and 4,
    # where the rectification ratio is negative.
    grads = _gradients(steps=5)
    actual, _ = _run(optgrad.scale_by_radam(threshold=0.0), grads)
    assert np.all(np.isfinite(actual))
    np.testing.assert_array_equal(actual[2:4], 0.0)
    assert np.all(actual[4] != 0.0)


def test_radam_early_derivative_finite():
    tx = optgrad.scale_by_radam()
    params = jnp.zeros(3)

    def first_update_sum(g):
        updates, _ = tx.update(g, tx.init(params), params)
        return jnp.sum(updates)

    grad = jax.grad(first_update_sum)(jnp.array([1.0, -2.0, 0.5]))
    assert np.all(np.isfinite(grad))


def test_yogi_matches_numpy():
    grads = _gradients()
    b1, b2, eps, init = 0.8, 0.9, 1e-3, 1e-6
    m = np.full_like(grads[0], init)
    v = np.full_like(grads[0], init)
    expected = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = v - (1 - b2) * np.sign(v - g * g) * g * g
        expected.append(m / (1 - b1**t) / (np.sqrt(v / (1 - b2**t)) + eps))
    actual, _ = _run(optgrad.scale_by_yogi(b1, b2, eps), grads)
    np.testing.assert_allclose(actual, np.stack(expected), rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("nesterov", [False, True])
def test_belief_matches_numpy(nesterov):
    grads = _gradients()
    b1, b2, eps, eps_root = 0.8, 0.9, 1e-8, 1e-12
    m = s = np.zeros_like(grads[0])
    expected = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps_root
        if nesterov:
            m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        else:
            m_hat = m / (1 - b1**t)
        expected.append(m_hat / (np.sqrt(s / (1 - b2**t)) + eps))
    tx = optgrad.scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov)
    actual, _ = _run(tx, grads)
    # The spread s is a small difference of squares, so it is the least
    # accurate quantity in float32.
    np.testing.assert_allclose(actual, np.stack(expected), rtol=1e-4, atol=1e-6)


TRANSFORMS = {
    "amsgrad": optgrad.scale_by_amsgrad,
    "adamax": optgrad.scale_by_adamax,
    "radam": optgrad.scale_by_radam,
    "yogi": optgrad.scale_by_yogi,
    "belief": optgrad.scale_by_belief,
}


@pytest.mark.parametrize("name", TRANSFORMS)
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_16bit_matches_float32(name, dtype):
    # Gradients exactly representable in the 16-bit dtype, including zeros.
    grads = np.asarray(jnp.asarray(_gradients(), dtype), np.float64)
    wide, _ = _run(TRANSFORMS[name](), grads, jnp.float32)
    narrow, state = _run(TRANSFORMS[name](), grads, dtype)
    assert np.all(np.isfinite(narrow))
    rtol = 2e-3 if dtype == jnp.float16 else 1e-2
    np.testing.assert_allclose(narrow, wide, rtol=rtol, atol=1e-6)
    for leaf in jax.tree.leaves(state):
        assert leaf.dtype in (jnp.int32, jnp.float32)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_none_leaves_and_optax_parity(name):
    params = {"w": jnp.ones((2, 3)), "skip": None, "b": jnp.zeros(3)}
    rng = np.random.default_rng(1)
    grads = [
        {
            "w": jnp.asarray(rng.normal(size=(2, 3)), jnp.float32),
            "skip": None,
            "b": jnp.asarray(rng.normal(size=3), jnp.float32),
        }
        for _ in range(4)
    ]
    with reference_mode():
        expected, _ = run_transform(getattr(optax, f"scale_by_{name}")(), params, grads)
    actual, _ = run_transform(TRANSFORMS[name](), params, grads)
    assert actual[0]["skip"] is None
    # float32 rounds 1 - b differently from optax's Python arithmetic.
    tree_allclose(actual, expected, rtol=1e-4, atol=1e-6)


def test_amsgrad_state_names_match_optax():
    assert optgrad.ScaleByAmsgradState._fields == optax.ScaleByAmsgradState._fields
    assert optgrad.ScaleByBeliefState._fields == optax.ScaleByBeliefState._fields
