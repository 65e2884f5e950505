import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses


def _np_ranking(scores, labels, where=None):
    """Per-list -sum_i y_i log softmax(s)_i over the valid items."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(labels, np.float64)
    valid = np.ones_like(s, bool) if where is None else np.asarray(where)
    result = np.zeros(s.shape[:-1])
    for index in np.ndindex(*s.shape[:-1]):
        keep = valid[index]
        if not keep.any():
            continue
        logits = s[index][keep]
        log_probs = logits - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
        result[index] = -(y[index][keep] * log_probs).sum()
    return result


def test_ranking_softmax_loss_numpy_reference():
    scores = jax.random.normal(jax.random.key(0), (3, 5))
    labels = jax.random.randint(jax.random.key(1), (3, 5), 0, 3).astype(jnp.float32)
    where = jnp.array([[True] * 5, [True, False, True, False, True], [False] * 5])
    per_list = _np_ranking(scores, labels, where)

    value = jax.jit(losses.ranking_softmax_loss)(scores, labels, where=where)
    np.testing.assert_allclose(value, per_list[:2].mean(), rtol=1e-5)
    unreduced = losses.ranking_softmax_loss(scores, labels, where=where, reduce_fn=None)
    np.testing.assert_allclose(unreduced, per_list, rtol=1e-5)
    summed = losses.ranking_softmax_loss(scores, labels, reduce_fn=jnp.sum)
    np.testing.assert_allclose(summed, _np_ranking(scores, labels).sum(), rtol=1e-5)


def test_ranking_all_masked_gives_zero():
    scores = jnp.array([[1.0, 2.0], [0.5, -0.5]])
    labels = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    where = jnp.zeros((2, 2), bool)
    value, grad = jax.value_and_grad(
        lambda s: losses.ranking_softmax_loss(s, labels, where=where)
    )(scores)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros((2, 2)))


def test_ranking_softmax_loss_weights_scale_labels():
    scores = jnp.array([[0.2, 1.0, -0.3]])
    labels = jnp.array([[1.0, 1.0, 0.0]])
    weights = jnp.array([[2.0, 0.5, 3.0]])
    value = losses.ranking_softmax_loss(scores, labels, weights=weights)
    expected = _np_ranking(scores, np.asarray(labels) * np.asarray(weights))
    np.testing.assert_allclose(value, expected.mean(), rtol=1e-6)


def test_ranking_softmax_loss_requires_list_axis():
    with pytest.raises(ValueError, match="must have a list axis"):
        losses.ranking_softmax_loss(jnp.array(1.0), jnp.array(1.0))


def test_ranking_softmax_loss_gradients_match_finite_differences():
    labels = jnp.array([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
    check_grads(
        lambda s: losses.ranking_softmax_loss(s, labels),
        (jnp.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]]),),
        order=2,
        modes=("fwd", "rev"),
    )
