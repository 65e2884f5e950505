import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses

INF = np.inf


def _value_and_grads(fn, first, second, **kwargs):
    def total(a, b):
        return jnp.sum(fn(a, b, **kwargs))

    value = jax.jit(lambda a, b: fn(a, b, **kwargs))(first, second)
    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(first, second)
    return value, grads


def test_kl_divergence_zero_target_is_finite():
    log_predictions = jnp.log(jnp.array([[0.5, 0.3, 0.2], [0.6, 0.4, 0.0]]))
    targets = jnp.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    value, (grad_log_predictions, grad_targets) = _value_and_grads(
        losses.kl_divergence, log_predictions, targets
    )

    # sum over t > 0 of t * (log t - log p); terms with t = 0 are 0.
    expected = [-np.log(0.5), 0.5 * np.log(0.5 / 0.6) + 0.5 * np.log(0.5 / 0.4)]
    # The second row sums terms of opposite sign, so float32 rounding of the
    # inputs shows up at about 4e-8 absolute.
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7)
    assert np.all(np.isfinite(grad_log_predictions))
    assert np.all(np.isfinite(grad_targets))
    # d/d log_p = -t; d/dt = log t + 1 - log_p for t > 0, and -log_p at t = 0
    # (0 where log_p = -inf).
    np.testing.assert_allclose(grad_log_predictions, -targets, atol=1e-7)
    np.testing.assert_allclose(
        grad_targets[0], [1.0 - np.log(0.5), -np.log(0.3), -np.log(0.2)], rtol=1e-6
    )
    assert grad_targets[1, 2] == 0.0


def test_kl_divergence_where_and_axis():
    log_predictions = jax.nn.log_softmax(jax.random.normal(jax.random.key(0), (4, 3)))
    targets = jax.nn.softmax(jax.random.normal(jax.random.key(1), (4, 3)))
    where = jnp.array([[True, False, True]] * 4)
    value = losses.kl_divergence(log_predictions.T, targets.T, axis=0, where=where.T)

    t = np.asarray(targets, np.float64)
    terms = t * (np.log(t) - np.asarray(log_predictions, np.float64))
    np.testing.assert_allclose(value, (terms * np.asarray(where)).sum(-1), rtol=1e-5)


def test_kl_divergence_with_log_targets_neg_inf():
    log_predictions = jnp.log(jnp.array([[0.5, 0.5, 0.0]]))
    log_targets = jnp.log(jnp.array([[1.0, 0.0, 0.0]]))
    value, grads = _value_and_grads(
        losses.kl_divergence_with_log_targets, log_predictions, log_targets
    )
    np.testing.assert_allclose(value, [np.log(2.0)], rtol=1e-6)
    for grad in grads:
        assert np.all(np.isfinite(grad)), grad
    np.testing.assert_array_equal(grads[0][0, 1:], [0.0, 0.0])


def test_generalized_kl_divergence_numpy_reference():
    log_predictions = jax.random.normal(jax.random.key(2), (3, 4))
    targets = jnp.array(
        [[0.5, 2.0, 0.0, 1.0], [0.1, 0.2, 0.3, 0.4], [3.0, 0.0, 0.0, 1.0]]
    )
    value = losses.generalized_kl_divergence(log_predictions, targets)

    # sum t log(t / q) - t + q with q = exp(log_predictions) and 0 log 0 = 0.
    t = np.asarray(targets, np.float64)
    log_q = np.asarray(log_predictions, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy_terms = np.where(t > 0, t * (np.log(t) - log_q), 0.0)
    expected = (entropy_terms - t + np.exp(log_q)).sum(-1)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert np.all(np.asarray(value) >= 0.0)


def test_convex_kl_divergence_is_generalized_without_warning():
    log_predictions = jax.random.normal(jax.random.key(3), (2, 3))
    targets = jnp.exp(jax.random.normal(jax.random.key(4), (2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = losses.convex_kl_divergence(log_predictions, targets)
    np.testing.assert_array_equal(
        value, losses.generalized_kl_divergence(log_predictions, targets)
    )


def test_kl_divergence_keeps_bfloat16():
    log_predictions = jnp.log(jnp.array([0.25, 0.75])).astype(jnp.bfloat16)
    targets = jnp.array([0.5, 0.5], jnp.bfloat16)
    value = losses.kl_divergence(log_predictions, targets)
    assert value.dtype == jnp.bfloat16
    expected = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    np.testing.assert_allclose(float(value), expected, rtol=2e-2)


def test_kl_divergence_rejects_integer_targets():
    with pytest.raises(TypeError, match="targets must be a floating-point array"):
        losses.kl_divergence(jnp.zeros(3), jnp.array([1, 0, 0]))


@pytest.mark.parametrize(
    "fn",
    [
        losses.kl_divergence,
        losses.kl_divergence_with_log_targets,
        losses.generalized_kl_divergence,
    ],
)
def test_divergences_gradients_match_finite_differences(fn):
    log_predictions = jnp.array([[-1.2, -0.7, -1.5], [-0.4, -2.0, -1.1]])
    second = jnp.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    if fn is losses.kl_divergence_with_log_targets:
        second = jnp.log(second)
    check_grads(fn, (log_predictions, second), order=2, modes=("fwd", "rev"))
