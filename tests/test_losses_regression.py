import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses


def test_absolute_error_numpy_reference():
    predictions = jnp.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]])
    targets = jnp.array([[0.0, -2.0, 1.5], [-1.0, 0.0, 2.0]])
    value = jax.jit(losses.absolute_error)(predictions, targets)
    # |p - t|
    expected = np.abs(np.asarray(predictions) - np.asarray(targets))
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_array_equal(
        losses.absolute_error(predictions), np.abs(np.asarray(predictions))
    )


def test_absolute_error_gradient_zero_at_equality():
    predictions = jnp.array([1.0, -2.0, 0.5, 0.0])
    targets = jnp.array([0.0, -2.0, 1.5, 0.0])
    grad = jax.grad(lambda p: jnp.sum(losses.absolute_error(p, targets)))(predictions)
    # sign(p - t), which is 0 where p == t.
    np.testing.assert_array_equal(grad, [1.0, 0.0, -1.0, 0.0])


def test_absolute_error_keeps_bfloat16():
    value = losses.absolute_error(jnp.array([1.5, -2.0], jnp.bfloat16))
    assert value.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(value, np.float32), [1.5, 2.0])


def test_huber_loss_numpy_reference():
    errors = np.array([-3.0, -0.5, 0.0, 0.25, 0.5, 2.0])
    value = losses.huber_loss(jnp.asarray(errors, jnp.float32), delta=0.5)
    # 0.5 e^2 for |e| <= delta, delta (|e| - delta / 2) beyond.
    expected = np.where(
        np.abs(errors) <= 0.5, 0.5 * errors**2, 0.5 * (np.abs(errors) - 0.25)
    )
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_huber_loss_gradient_is_clipped_error():
    predictions = jnp.array([-3.0, -0.2, 0.0, 0.7, 5.0])
    grad = jax.grad(lambda p: jnp.sum(losses.huber_loss(p, delta=1.0)))(predictions)
    np.testing.assert_allclose(grad, np.clip(np.asarray(predictions), -1.0, 1.0))


def test_huber_loss_rejects_negative_delta():
    with pytest.raises(
        ValueError,
        match=r"huber_loss\(delta=-1.0\) is out of range: delta must be >= 0",
    ):
        losses.huber_loss(jnp.zeros(2), delta=-1.0)


def test_log_cosh_accurate_for_small_and_large_errors():
    errors = np.array([1e-5, -3e-4, 0.01, 0.5, 0.999, 1.0, 1.001, -7.0, 80.0, 1e4])
    value = jax.jit(losses.log_cosh)(jnp.asarray(errors, jnp.float32))
    # log(cosh(e)) = |e| + log1p(exp(-2|e|)) - log(2), exact in float64.
    expected = np.abs(errors) + np.log1p(np.exp(-2 * np.abs(errors))) - np.log(2.0)
    np.testing.assert_allclose(value, expected, rtol=2e-6)


def test_log_cosh_infinite_and_huge_errors():
    errors = jnp.array([jnp.inf, -jnp.inf, 1e30, -1e30])
    value = jax.jit(losses.log_cosh)(errors)
    np.testing.assert_array_equal(value[:2], [np.inf, np.inf])
    np.testing.assert_allclose(value[2:], [1e30, 1e30], rtol=1e-6)
    grad = jax.jit(jax.vmap(jax.grad(losses.log_cosh)))(errors)
    np.testing.assert_array_equal(grad, [1.0, -1.0, 1.0, -1.0])


def test_log_cosh_gradient_is_tanh():
    predictions = jnp.array([-50.0, -1.0, -0.3, 0.0, 1e-3, 1.0, 2.5, 1e4])
    grad = jax.grad(lambda p: jnp.sum(losses.log_cosh(p)))(predictions)
    np.testing.assert_allclose(grad, np.tanh(np.asarray(predictions)), rtol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [losses.squared_error, losses.l2_loss, losses.log_cosh, losses.huber_loss],
)
def test_regression_gradients_match_finite_differences(fn):
    predictions = jnp.array([[0.3, -1.7, 2.2], [0.9, 0.4, -0.6]])
    targets = jnp.array([[0.0, 0.5, 0.1], [-1.0, 0.45, 0.6]])
    # Huber's second derivative jumps at |e| = delta, and the squared errors
    # are quadratics, so only log-cosh gets a second-order check.
    order = 2 if fn is losses.log_cosh else 1
    check_grads(fn, (predictions, targets), order=order, modes=("fwd", "rev"))


def test_targets_broadcast_without_changing_shape():
    predictions = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    value = losses.squared_error(predictions, jnp.array([1.0, 0.0]))
    np.testing.assert_array_equal(value, [[0.0, 4.0], [4.0, 16.0]])
    value = losses.l2_loss(predictions, 1)
    np.testing.assert_array_equal(value, [[0.0, 0.5], [2.0, 4.5]])


def test_targets_that_would_grow_the_result_are_rejected():
    with pytest.raises(ValueError, match=r"shape \(3,\) of targets.*\(3, 1\)"):
        losses.squared_error(jnp.zeros((3, 1)), jnp.zeros(3))


def test_regression_rejects_integer_predictions():
    with pytest.raises(TypeError, match="predictions must be a floating-point"):
        losses.l2_loss(jnp.array([1, 2]))


def test_mixed_dtypes_promote_as_jax_standard():
    value = losses.squared_error(
        jnp.ones(2, jnp.bfloat16), jnp.array([0.5, 0.25], jnp.float32)
    )
    assert value.dtype == jnp.float32
    np.testing.assert_allclose(value, [0.25, 0.5625])
