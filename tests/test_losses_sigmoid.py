import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses

INF = np.inf


def _np_log_sigmoid(x):
    return -np.logaddexp(0.0, -np.asarray(x, np.float64))


def _value_and_grads(fn, logits, labels, **kwargs):
    """Return the loss and its gradients with respect to logits and labels."""

    def total(x, y):
        return jnp.sum(fn(x, y, **kwargs))

    value = jax.jit(lambda x, y: fn(x, y, **kwargs))(logits, labels)
    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(logits, labels)
    return value, grads


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (losses.sigmoid_binary_cross_entropy, {}),
        (losses.sigmoid_focal_loss, {}),
        (losses.sigmoid_focal_loss, {"gamma": 0.0, "alpha": 0.25}),
        (losses.sigmoid_focal_loss, {"gamma": 0.5}),
    ],
    ids=["bce", "focal", "focal-gamma0", "focal-gamma0.5"],
)
def test_infinite_logit_with_matching_label_is_zero(fn, kwargs):
    logits = jnp.array([INF, -INF, 2.0])
    labels = jnp.array([1.0, 0.0, 1.0])
    value, (logits_grad, labels_grad) = _value_and_grads(fn, logits, labels, **kwargs)

    np.testing.assert_array_equal(value[:2], [0.0, 0.0])
    np.testing.assert_array_equal(logits_grad[:2], [0.0, 0.0])
    assert np.all(np.isfinite(logits_grad))
    assert np.all(np.isfinite(labels_grad))
    assert np.isfinite(value[2])


def test_bce_infinite_wrong_label_is_inf():
    value = losses.sigmoid_binary_cross_entropy(
        jnp.array([INF, -INF]), jnp.array([0.0, 1.0])
    )
    np.testing.assert_array_equal(value, [INF, INF])


def test_sigmoid_bce_numpy_reference():
    logits = jnp.array([-30.0, -2.0, 0.0, 0.5, 3.0, 40.0])
    labels = jnp.array([0.0, 1.0, 0.3, 1.0, 0.0, 0.9])
    value = losses.sigmoid_binary_cross_entropy(logits, labels)

    # -y log(sigmoid(x)) - (1 - y) log(1 - sigmoid(x)), with 1 - sigmoid(x)
    # = sigmoid(-x).
    y = np.asarray(labels, np.float64)
    expected = -y * _np_log_sigmoid(logits) - (1 - y) * _np_log_sigmoid(-logits)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7)


def test_sigmoid_bce_labels_gradient_is_minus_logits():
    # d/dy [y softplus(-x) + (1 - y) softplus(x)] = softplus(-x) - softplus(x) = -x,
    # including at labels of exactly 0 and 1.
    logits = jnp.array([-3.0, 0.5, 2.0, -0.1])
    labels = jnp.array([0.0, 1.0, 0.5, 0.0])
    _, (_, labels_grad) = _value_and_grads(
        losses.sigmoid_binary_cross_entropy, logits, labels
    )
    np.testing.assert_allclose(labels_grad, -logits, rtol=1e-6)


def test_sigmoid_bce_confident_logits_keep_precision():
    logits = jnp.array([30.0, -30.0, 80.0])
    labels = jnp.array([1.0, 0.0, 1.0])
    value = losses.sigmoid_binary_cross_entropy(logits, labels)
    # log1p(exp(-30)) is about 9.4e-14, far below a float32 ulp of 30.
    expected = np.log1p(np.exp(-np.abs(np.asarray(logits, np.float64))))
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_sigmoid_bce_confident_gradients_are_exact():
    logits = jnp.array([30.0, -30.0])
    labels = jnp.array([1.0, 0.0])
    grad = jax.grad(lambda x: jnp.sum(losses.sigmoid_binary_cross_entropy(x, labels)))(
        logits
    )
    # sigmoid(x) - y = -exp(-30) / (1 + exp(-30)) and its mirror image.
    tail = math.exp(-30.0) / (1.0 + math.exp(-30.0))
    np.testing.assert_allclose(grad, [-tail, tail], rtol=1e-6)


def test_sigmoid_bce_curvature_at_zero_logit():
    labels = jnp.array([0.0, 1.0, 0.3])

    def total(x):
        return jnp.sum(losses.sigmoid_binary_cross_entropy(x, labels))

    hessian = jax.jit(jax.hessian(total))(jnp.zeros(3))
    # sigmoid'(0) = 1/4 on the diagonal, whatever the label.
    np.testing.assert_allclose(hessian, 0.25 * np.eye(3), rtol=1e-6, atol=1e-7)


def test_sigmoid_bce_second_order_both_args():
    logits = jnp.array([0.7, -1.3, 0.0, 2.5])
    labels = jnp.array([0.0, 1.0, 0.3, 0.9])
    check_grads(losses.sigmoid_binary_cross_entropy, (logits, labels), order=2)


def test_sigmoid_bce_integer_labels_and_scalar_broadcast():
    logits = jnp.array([[0.5, -1.0], [2.0, 0.0]])
    value = losses.sigmoid_binary_cross_entropy(logits, jnp.array(1))
    expected = -_np_log_sigmoid(logits)
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    assert value.dtype == jnp.float32


def test_sigmoid_bce_keeps_bfloat16():
    logits = jnp.array([0.5, -2.0], jnp.bfloat16)
    value = losses.sigmoid_binary_cross_entropy(logits, jnp.array([1, 0]))
    assert value.dtype == jnp.bfloat16
    expected = -_np_log_sigmoid(np.asarray(logits, np.float64) * np.array([1, -1]))
    np.testing.assert_allclose(np.asarray(value, np.float64), expected, rtol=1e-2)


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_loss_numpy_reference(alpha, gamma):
    logits = jnp.array([-4.0, -0.5, 0.0, 1.0, 3.0, 2.0])
    labels = jnp.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.3])
    value = losses.sigmoid_focal_loss(logits, labels, alpha=alpha, gamma=gamma)

    # FL = (1 - p_t)**gamma * CE, with 1 - p_t = y (1 - p) + (1 - y) p and
    # an optional weight alpha y + (1 - alpha)(1 - y).
    y = np.asarray(labels, np.float64)
    p = np.exp(_np_log_sigmoid(logits))
    cross_entropy = -y * np.log(p) - (1 - y) * np.log1p(-p)
    expected = (y * (1 - p) + (1 - y) * p) ** gamma * cross_entropy
    if alpha is not None:
        expected = (alpha * y + (1 - alpha) * (1 - y)) * expected
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-7)


def test_focal_loss_gamma_zero_is_cross_entropy():
    logits = jax.random.normal(jax.random.key(0), (3, 4))
    labels = jax.random.uniform(jax.random.key(1), (3, 4))
    np.testing.assert_allclose(
        losses.sigmoid_focal_loss(logits, labels, gamma=0.0),
        losses.sigmoid_binary_cross_entropy(logits, labels),
        rtol=1e-6,
    )


def test_focal_loss_rejects_negative_gamma():
    with pytest.raises(
        ValueError, match=r"sigmoid_focal_loss\(gamma=-1.0\) is out of range"
    ):
        losses.sigmoid_focal_loss(jnp.zeros(2), jnp.zeros(2), gamma=-1.0)


@pytest.mark.parametrize(
    ("fn", "order"),
    [
        (
            lambda x: losses.sigmoid_binary_cross_entropy(
                x, jnp.array([0.0, 1.0, 0.3])
            ),
            2,
        ),
        # First order only: the focal loss's second-order check compiles slowly.
        (
            lambda x: losses.sigmoid_focal_loss(
                x, jnp.array([0.0, 1.0, 0.3]), alpha=0.3
            ),
            1,
        ),
    ],
    ids=["bce", "focal"],
)
def test_sigmoid_losses_gradients_match_finite_differences(fn, order):
    check_grads(fn, (jnp.array([0.7, -1.3, 0.2]),), order=order, modes=("fwd", "rev"))
