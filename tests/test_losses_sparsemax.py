import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses


def _np_sparsemax(scores):
    """Euclidean projection onto the simplex, by sorting (Martins and Astudillo)."""
    scores = np.asarray(scores, np.float64)
    descending = -np.sort(-scores, axis=-1)
    cumulative = np.cumsum(descending, axis=-1)
    ranks = np.arange(1, scores.shape[-1] + 1)
    support = (1 + ranks * descending > cumulative).sum(-1, keepdims=True)
    threshold = (np.take_along_axis(cumulative, support - 1, -1) - 1) / support
    return np.maximum(scores - threshold, 0.0)


def test_sparsemax_loss_numpy_reference():
    logits = jnp.array([-3.0, -0.5, 0.0, 0.4, 1.0, 2.5])
    labels = jnp.array([1, 0, 1, 0, 1, 0])
    value = jax.jit(losses.sparsemax_loss)(logits, labels)
    # sparse_plus(z) = 0 (z <= -1), (z + 1)^2 / 4 (|z| < 1), z (z >= 1) with
    # z = -x for label 1 and z = x for label 0.
    z = np.where(np.asarray(labels) == 1, -np.asarray(logits), np.asarray(logits))
    expected = np.where(z <= -1, 0.0, np.where(z >= 1, z, (z + 1) ** 2 / 4))
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_multiclass_sparsemax_loss_numpy_reference():
    scores = 2.0 * jax.random.normal(jax.random.key(0), (2, 3, 5))
    labels = jax.random.randint(jax.random.key(1), (2, 3), 0, 5)
    value = jax.jit(losses.multiclass_sparsemax_loss)(scores, labels)

    # sum_k p_k (s_k - s_y) + (1 - |p|^2) / 2 with p = sparsemax(s).
    s = np.asarray(scores, np.float64)
    p = _np_sparsemax(s)
    label_scores = np.take_along_axis(s, np.asarray(labels)[..., None], -1)
    expected = (p * (s - label_scores)).sum(-1) + 0.5 * (1 - (p**2).sum(-1))
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-6)


def test_multiclass_sparsemax_gradient_is_p_minus_one_hot():
    scores = jnp.array([[1.0, 0.8, -2.0, 0.1], [0.0, 0.0, 0.0, 0.0]])
    labels = jnp.array([2, 3])
    grad = jax.grad(lambda s: jnp.sum(losses.multiclass_sparsemax_loss(s, labels)))(
        scores
    )
    expected = _np_sparsemax(scores) - np.eye(4)[np.asarray(labels)]
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)


def test_multiclass_sparsemax_zero_when_label_dominates():
    scores = jnp.array([[5.0, 3.9, -jnp.inf], [0.0, 2.0, 0.5]])
    value = losses.multiclass_sparsemax_loss(scores, jnp.array([0, 1]))
    np.testing.assert_array_equal(value, [0.0, 0.0])


def test_multiclass_sparsemax_out_of_range_label_is_nan():
    value = losses.multiclass_sparsemax_loss(jnp.zeros((3, 4)), jnp.array([0, -1, 4]))
    np.testing.assert_array_equal(np.isnan(value), [False, True, True])


@pytest.mark.parametrize(
    "fn",
    [
        lambda s: losses.multiclass_sparsemax_loss(s, jnp.array([1, 0])),
        lambda s: losses.sparsemax_loss(s, jnp.array([[1, 0, 1], [0, 0, 1]])),
    ],
    ids=["multiclass", "binary"],
)
def test_sparsemax_gradients_match_finite_differences(fn):
    # Away from the points where the support changes, both are smooth.
    scores = jnp.array([[0.3, 0.1, -0.4], [0.9, 0.2, 0.6]])
    check_grads(fn, (scores,), order=2, modes=("fwd", "rev"))
