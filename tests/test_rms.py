import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree, run_updates

import optgrad

PARITY_CASES = [
    ("scale_by_rss", {}),
    ("scale_by_rss", {"initial_accumulator_value": 0.0, "eps": 1e-5}),
    ("scale_by_rms", {}),
    ("scale_by_rms", {"decay": 0.5, "initial_scale": 1.0, "eps_in_sqrt": False}),
    ("scale_by_rms", {"decay": 0.99, "bias_correction": True}),
    ("scale_by_stddev", {}),
    ("scale_by_stddev", {"decay": 0.8, "eps_in_sqrt": False, "eps": 1e-3}),
    # With bias correction the first variance is 0 up to rounding: optax
    # 0.2.8 takes the root of the rounding error (NaN when negative) unless
    # eps is inside the root, and a large eps keeps that error small.
    ("scale_by_stddev", {"decay": 0.8, "eps": 0.1, "bias_correction": True}),
    ("scale_by_adadelta", {}),
    ("scale_by_adadelta", {"rho": 0.5, "eps": 1e-3}),
]


@pytest.mark.parametrize(
    ("name", "kwargs"), PARITY_CASES, ids=[f"{n}{k}" for n, k in PARITY_CASES]
)
def test_rms_transforms_match_optax(name, kwargs):
    params = params_tree()
    grads = gradient_sequence(params, 5)
    with reference_mode():
        expected, _ = run_updates(getattr(optax, name)(**kwargs), params, grads)
    actual, _ = run_updates(getattr(optgrad, name)(**kwargs), params, grads)
    for got, want in zip(actual, expected, strict=True):
        tree_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_scale_by_rss_numpy_reference():
    g1, g2 = np.array([0.5, -2.0, 0.0]), np.array([1.0, 1.0, 0.0])
    tx = optgrad.scale_by_rss(initial_accumulator_value=0.1, eps=1e-7)
    params = jnp.zeros(3)
    (_, second), state = run_updates(tx, params, [jnp.asarray(g1), jnp.asarray(g2)])
    total = 0.1 + g1**2 + g2**2
    np.testing.assert_allclose(second, g2 / np.sqrt(total + 1e-7), rtol=1e-6)
    np.testing.assert_allclose(state.sum_of_squares, total, rtol=1e-6)


def test_scale_by_rss_zero_sum_gives_zero():
    tx = optgrad.scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
    params = jnp.zeros(2)
    updates, _ = tx.update(jnp.zeros(2), tx.init(params), params)
    np.testing.assert_array_equal(updates, [0.0, 0.0])


def test_scale_by_rms_bias_correction_numpy_reference():
    decay, eps = 0.9, 1e-8
    g = [np.array([3.0, -0.5]), np.array([1.0, 2.0])]
    tx = optgrad.scale_by_rms(decay=decay, eps=eps, bias_correction=True)
    outputs, state = run_updates(tx, jnp.zeros(2), [jnp.asarray(x) for x in g])
    nu = 0.0
    for step, (x, out) in enumerate(zip(g, outputs, strict=True), start=1):
        nu = decay * nu + (1 - decay) * x**2
        nu_hat = nu / (1 - decay**step)
        np.testing.assert_allclose(out, x / np.sqrt(nu_hat + eps), rtol=1e-6)
    assert int(state.count) == 2
    assert isinstance(state, optgrad.transforms.ScaleByRmsWithCountState)


def test_scale_by_stddev_numpy_reference():
    decay, eps = 0.8, 1e-6
    g = [np.array([3.0, -0.5]), np.array([1.0, 2.0]), np.array([-1.0, 2.0])]
    tx = optgrad.scale_by_stddev(decay=decay, eps=eps, eps_in_sqrt=False)
    outputs, _ = run_updates(tx, jnp.zeros(2), [jnp.asarray(x) for x in g])
    mu = nu = 0.0
    for x, out in zip(g, outputs, strict=True):
        mu = decay * mu + (1 - decay) * x
        nu = decay * nu + (1 - decay) * x**2
        np.testing.assert_allclose(out, x / (np.sqrt(nu - mu**2) + eps), rtol=1e-5)


def test_scale_by_adadelta_numpy_reference():
    rho, eps = 0.9, 1e-6
    g = [np.array([3.0, -0.5]), np.array([1.0, 2.0])]
    tx = optgrad.scale_by_adadelta(rho=rho, eps=eps)
    outputs, state = run_updates(tx, jnp.zeros(2), [jnp.asarray(x) for x in g])
    e_g = e_x = 0.0
    for x, out in zip(g, outputs, strict=True):
        e_g = rho * e_g + (1 - rho) * x**2
        delta = np.sqrt(e_x + eps) / np.sqrt(e_g + eps) * x
        e_x = rho * e_x + (1 - rho) * delta**2
        np.testing.assert_allclose(out, delta, rtol=1e-5)
    np.testing.assert_allclose(state.e_x, e_x, rtol=1e-5)


@pytest.mark.parametrize("eps_in_sqrt", [True, False])
def test_scale_by_rms_zero_denominator_gives_zero(eps_in_sqrt):
    # optax 0.2.8 returns NaN here: 0 * rsqrt(0).
    tx = optgrad.scale_by_rms(eps=0.0, eps_in_sqrt=eps_in_sqrt)
    params = jnp.zeros(3)
    updates, _ = tx.update(jnp.zeros(3), tx.init(params), params)
    np.testing.assert_array_equal(updates, np.zeros(3))


def test_scale_by_rms_gradient_finite_at_zero():
    tx = optgrad.scale_by_rms(eps=0.0, eps_in_sqrt=False)
    params = jnp.zeros(3)
    state = tx.init(params)

    def total(g):
        return jnp.sum(tx.update(g, state, params)[0])

    grad = jax.grad(total)(jnp.zeros(3))
    assert np.all(np.isfinite(np.asarray(grad)))


def test_scale_by_stddev_constant_gradient_is_finite():
    # With a constant gradient, nu - mu**2 is zero up to rounding, which can
    # make it slightly negative, so it is clipped at zero.
    tx = optgrad.scale_by_stddev(decay=0.9, eps=0.0)
    grads = [jnp.full(4, 0.3)] * 20
    outputs, _ = run_updates(tx, jnp.zeros(4), grads)
    for out in outputs:
        assert np.all(np.isfinite(np.asarray(out)))


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize(
    "name", ["scale_by_rss", "scale_by_rms", "scale_by_stddev", "scale_by_adadelta"]
)
def test_rms_transforms_16bit_match_float32(name, dtype):
    params = params_tree(dtype)
    grads = gradient_sequence(params, 3)
    tx = getattr(optgrad, name)()
    outputs, state = run_updates(tx, params, grads)
    for leaf in jax.tree.leaves(state):
        assert leaf.dtype == jnp.float32
    wide = jax.tree.map(lambda x: x.astype(jnp.float32), params)
    wide_grads = [jax.tree.map(lambda x: x.astype(jnp.float32), g) for g in grads]
    expected, _ = run_updates(tx, wide, wide_grads)
    for got, want in zip(outputs, expected, strict=True):
        for leaf in jax.tree.leaves(got):
            assert leaf.dtype == dtype
        tree_allclose(
            jax.tree.map(lambda x: x.astype(jnp.float32), got),
            want,
            rtol=1e-2,
            atol=1e-2,
        )


def test_scale_by_rms_complex_state_is_real():
    params = jnp.zeros(2, jnp.complex64)
    tx = optgrad.scale_by_rms(decay=0.0, eps=0.0)
    state = tx.init(params)
    assert state.nu.dtype == jnp.float32
    g = jnp.asarray([3 + 4j, 1j], jnp.complex64)
    updates, _ = tx.update(g, state, params)
    assert updates.dtype == jnp.complex64
    np.testing.assert_allclose(
        updates, np.asarray(g) / np.abs(np.asarray(g)), rtol=1e-6
    )


@pytest.mark.parametrize(
    "name", ["scale_by_rss", "scale_by_rms", "scale_by_stddev", "scale_by_adadelta"]
)
def test_rms_transforms_zero_size_and_none_leaves(name):
    params = {"empty": jnp.zeros((0, 3)), "none": None, "w": jnp.ones(2)}
    tx = getattr(optgrad, name)()
    grads = {"empty": jnp.zeros((0, 3)), "none": None, "w": jnp.ones(2)}
    updates, _ = tx.update(grads, tx.init(params), params)
    assert updates["empty"].shape == (0, 3)
    assert updates["none"] is None
    assert np.all(np.isfinite(np.asarray(updates["w"])))


@pytest.mark.parametrize(
    ("factory", "pattern"),
    [
        (lambda: optgrad.scale_by_rms(decay=1.5), r"scale_by_rms\(decay=1.5\)"),
        (
            lambda: optgrad.scale_by_rms(decay=1.0, bias_correction=True),
            r"decay must be in \[0, 1\)",
        ),
        (lambda: optgrad.scale_by_stddev(eps=-1.0), r"eps must be >= 0"),
        (lambda: optgrad.scale_by_rss(initial_accumulator_value=-0.1), r">= 0"),
        (lambda: optgrad.scale_by_adadelta(eps=0.0), r"eps must be > 0"),
        (lambda: optgrad.scale_by_adadelta(rho=2.0), r"rho must be in \[0, 1\]"),
    ],
)
def test_rms_transforms_reject_bad_hyperparameters(factory, pattern):
    with pytest.raises(ValueError, match=pattern):
        factory()
