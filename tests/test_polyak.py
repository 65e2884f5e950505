import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose
from stepping import gradient_sequence, params_tree

import optgrad


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"f_min": 0.5, "max_learning_rate": 0.2, "eps": 1e-3},
        {"f_min": 2.0, "variant": "sps+"},
        {"f_min": 2.0, "variant": "sps"},
    ],
)
@pytest.mark.parametrize("value", [0.3, 1.7, 40.0])
def test_scale_by_polyak_matches_optax(kwargs, value):
    params = params_tree()
    grads = gradient_sequence(params, 1)[0]
    with reference_mode():
        reference = optax.scale_by_polyak(**kwargs)
        expected, _ = reference.update(
            grads, reference.init(params), params, value=jnp.asarray(value)
        )
    tx = optgrad.scale_by_polyak(**kwargs)
    actual, _ = jax.jit(tx.update)(
        grads, tx.init(params), params, value=jnp.asarray(value)
    )
    tree_allclose(actual, expected, rtol=1e-5, atol=1e-7)


def test_scale_by_polyak_numpy_reference():
    g = np.array([3.0, 4.0])
    tx = optgrad.scale_by_polyak(f_min=1.0, max_learning_rate=10.0, eps=5.0)
    out, _ = tx.update(jnp.asarray(g), tx.init(jnp.zeros(2)), value=jnp.asarray(16.0))
    np.testing.assert_allclose(out, (16.0 - 1.0) / (25.0 + 5.0) * g, rtol=1e-6)


@pytest.mark.parametrize(
    ("value", "dtype", "loss", "expected"),
    [(1e20, jnp.float32, 4e30, 1e10), (300.0, jnp.float16, 36.0, 0.03)],
    ids=["float32-1e20", "float16-300"],
)
def test_scale_by_polyak_large_gradients(value, dtype, loss, expected):
    # For 1e20 the squared norm (4e40) overflows float32; optax 0.2.8 then
    # returns a zero step.
    g = jnp.full(4, value, dtype)
    tx = optgrad.scale_by_polyak(max_learning_rate=1e9)
    out, _ = tx.update(g, tx.init(g), value=jnp.asarray(loss))
    assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, np.float32), expected, rtol=1e-3)


def test_scale_by_polyak_zero_gradient():
    tx = optgrad.scale_by_polyak()
    g = jnp.zeros(3)
    out, _ = tx.update(g, tx.init(g), value=jnp.asarray(5.0))
    np.testing.assert_array_equal(out, np.zeros(3))

    def total(u):
        return jnp.sum(tx.update(u, tx.init(u), value=jnp.asarray(5.0))[0])

    assert np.all(np.isfinite(np.asarray(jax.grad(total)(g))))


def test_scale_by_polyak_sps_plus_stops_below_f_min():
    g = jnp.ones(2)
    plain = optgrad.scale_by_polyak(f_min=1.0)
    plus = optgrad.scale_by_polyak(f_min=1.0, variant="sps+")
    backwards, _ = plain.update(g, plain.init(g), value=jnp.asarray(0.5))
    stopped, _ = plus.update(g, plus.init(g), value=jnp.asarray(0.5))
    np.testing.assert_allclose(backwards, [-0.25, -0.25])
    np.testing.assert_array_equal(stopped, [0.0, 0.0])


def test_scale_by_polyak_needs_value():
    tx = optgrad.scale_by_polyak()
    with pytest.raises(ValueError, match="needs the loss value"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
    with pytest.raises(ValueError, match=r"got an array of shape \(2,\)"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)), value=jnp.ones(2))


def test_scale_by_polyak_rejects_bad_variant():
    with pytest.raises(ValueError, match=r"variant='spsplus'\) is invalid"):
        optgrad.scale_by_polyak(variant="spsplus")


def test_polyak_sgd_rejects_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"polyak_sgd\(max_learning_rate=-1.0\)"):
        optgrad.polyak_sgd(max_learning_rate=-1.0)


def test_polyak_sgd_scaling_formula():
    # u = -s * min(f / (s**2 * ||g||**2), gamma) * g, as optax 0.2.8 computes.
    g = np.array([1.0, 2.0])
    tx = optgrad.polyak_sgd(max_learning_rate=10.0, scaling=0.5)
    params = jnp.zeros(2)
    out, _ = tx.update(jnp.asarray(g), tx.init(params), params, value=jnp.asarray(2.0))
    step = min(2.0 / (0.25 * 5.0), 10.0)
    np.testing.assert_allclose(out, -0.5 * step * g, rtol=1e-6)
