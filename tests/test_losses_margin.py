import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optgrad import losses


def test_binary_margin_losses_numpy_reference():
    outputs = jnp.array([2.0, 0.5, -0.3, -3.0, 0.0])
    targets = jnp.array([1, 1, 1, -1, -1])
    y, s = np.asarray(targets, np.float64), np.asarray(outputs, np.float64)
    # hinge: max(0, 1 - s y); perceptron: max(0, -s y)
    np.testing.assert_allclose(
        losses.hinge_loss(outputs, targets), np.maximum(0.0, 1.0 - s * y)
    )
    np.testing.assert_allclose(
        losses.perceptron_loss(outputs, targets), np.maximum(0.0, -s * y)
    )


def _np_multiclass(scores, labels):
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels)
    label_scores = np.take_along_axis(scores, labels[..., None], -1)[..., 0]
    one_hot = np.eye(scores.shape[-1])[labels]
    # hinge: max_k (s_k + [k != y]) - s_y; perceptron: max_k s_k - s_y
    hinge = (scores + 1.0 - one_hot).max(-1) - label_scores
    perceptron = scores.max(-1) - label_scores
    return hinge, perceptron


def test_multiclass_margin_losses_any_leading_shape():
    scores = jax.random.normal(jax.random.key(0), (2, 3, 4))
    labels = jax.random.randint(jax.random.key(1), (2, 3), 0, 4)
    hinge, perceptron = _np_multiclass(scores, labels)
    np.testing.assert_allclose(
        jax.jit(losses.multiclass_hinge_loss)(scores, labels), hinge, rtol=1e-6
    )
    np.testing.assert_allclose(
        losses.multiclass_perceptron_loss(scores, labels), perceptron, rtol=1e-6
    )


def test_multiclass_margin_losses_single_example():
    scores = jnp.array([0.5, 2.0, -1.0])
    assert losses.multiclass_hinge_loss(scores, jnp.array(1)) == 0.0
    assert losses.multiclass_perceptron_loss(scores, jnp.array(0)) == 1.5


@pytest.mark.parametrize(
    "fn", [losses.multiclass_hinge_loss, losses.multiclass_perceptron_loss]
)
def test_multiclass_margin_out_of_range_label_is_nan(fn):
    scores = jnp.zeros((4, 3))
    value = fn(scores, jnp.array([0, 3, -1, 2]))
    np.testing.assert_array_equal(np.isnan(value), [False, True, True, False])


def test_multiclass_hinge_gradient():
    scores = jnp.array([[0.5, 2.0, -1.0], [1.0, 0.2, 0.9]])
    labels = jnp.array([0, 2])
    grad = jax.grad(lambda s: jnp.sum(losses.multiclass_hinge_loss(s, labels)))(scores)
    # One-hot of the arg-max of s + [k != y] minus one-hot of y.
    np.testing.assert_allclose(grad, [[-1.0, 1.0, 0.0], [1.0, 0.0, -1.0]])


def test_multiclass_margin_rejects_float_labels():
    with pytest.raises(TypeError, match="labels must be an integer array"):
        losses.multiclass_hinge_loss(jnp.zeros((2, 3)), jnp.zeros(2))
