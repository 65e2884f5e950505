import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses


def test_cosine_similarity_numpy_reference():
    a = jax.random.normal(jax.random.key(0), (3, 4))
    b = jax.random.normal(jax.random.key(1), (3, 4))
    value = jax.jit(losses.cosine_similarity)(a, b)
    # <a, b> / (|a| |b|)
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norms = np.linalg.norm(a64, axis=-1) * np.linalg.norm(b64, axis=-1)
    np.testing.assert_allclose(value, (a64 * b64).sum(-1) / norms, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        losses.cosine_distance(a, b), 1 - (a64 * b64).sum(-1) / norms, rtol=1e-5
    )


def test_cosine_zero_vector_gives_zero():
    a = jnp.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    b = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    value = losses.cosine_similarity(a, b)
    grads = jax.grad(
        lambda x, y: jnp.sum(losses.cosine_distance(x, y)), argnums=(0, 1)
    )(a, b)
    np.testing.assert_array_equal(value, [0.0, 0.0])
    for grad in grads:
        np.testing.assert_array_equal(grad, np.zeros((2, 3)))


def test_cosine_nan_vector_gives_nan():
    predictions = jnp.array([[jnp.nan, 1.0], [1.0, 0.0]])
    targets = jnp.array([[1.0, 1.0], [1.0, 1.0]])
    value = losses.cosine_similarity(predictions, targets)
    assert np.isnan(value[0])
    np.testing.assert_allclose(value[1], 1 / np.sqrt(2.0), rtol=1e-6)


def test_cosine_similarity_epsilon_floors_squared_norm():
    a = jnp.array([[0.1, 0.0]])
    b = jnp.array([[1.0, 0.0]])
    value = losses.cosine_similarity(a, b, epsilon=0.25)
    # |a|^2 = 0.01 is floored to 0.25, so a is divided by 0.5 instead of 0.1.
    np.testing.assert_allclose(value, [0.2], rtol=1e-6)


def test_cosine_similarity_where_selects_entries():
    a = jnp.array([[1.0, 0.0, 5.0]])
    b = jnp.array([[1.0, 1.0, -5.0]])
    where = jnp.array([[True, True, False]])
    value = losses.cosine_similarity(a, b, where=where)
    np.testing.assert_allclose(value, [1.0 / np.sqrt(2.0)], rtol=1e-6)


@pytest.mark.parametrize("degree", [1, 2, 3, 1.5])
def test_triplet_margin_loss_numpy_reference(degree):
    anchors = jax.random.normal(jax.random.key(2), (4, 3))
    positives = jax.random.normal(jax.random.key(3), (4, 3))
    negatives = jax.random.normal(jax.random.key(4), (4, 3))
    value = losses.triplet_margin_loss(
        anchors, positives, negatives, norm_degree=degree, margin=0.5
    )

    # d(x, y) = (sum |x - y|^q + eps)^(1/q); loss = max(d(a, p) - d(a, n) + m, 0)
    def distance(x, y):
        gaps = np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))
        return ((gaps**degree).sum(-1) + 1e-6) ** (1 / degree)

    gap = distance(anchors, positives) - distance(anchors, negatives)
    np.testing.assert_allclose(value, np.maximum(gap + 0.5, 0.0), rtol=1e-5, atol=1e-6)


def test_triplet_margin_loss_gradient_finite_at_equal_embeddings():
    anchors = jnp.array([[1.0, 2.0]])
    grad = jax.grad(
        lambda p: jnp.sum(losses.triplet_margin_loss(anchors, p, jnp.zeros((1, 2))))
    )(anchors)
    assert np.all(np.isfinite(grad))


def _np_ntxent_pairs(embeddings, labels, temperature):
    """Pair losses -log(exp(s_ij) / (exp(s_ij) + sum_{k: y_k != y_i} exp(s_ik)))."""
    x = np.asarray(embeddings, np.float64)
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    s = x @ x.T / temperature
    labels = np.asarray(labels)
    size = len(labels)
    pairs = np.zeros((size, size))
    for i in range(size):
        negatives = np.exp(s[i][labels != labels[i]]).sum()
        for j in range(size):
            if i != j and labels[i] == labels[j]:
                pairs[i, j] = -np.log(np.exp(s[i, j]) / (np.exp(s[i, j]) + negatives))
    return pairs


def test_ntxent_numpy_reference_and_reductions():
    embeddings = jax.random.normal(jax.random.key(5), (7, 3))
    labels = jnp.array([0, 0, 1, 1, 1, 2, 3])
    pairs = _np_ntxent_pairs(embeddings, labels, 0.5)
    num_pairs = 2 + 6

    mean = jax.jit(losses.ntxent, static_argnames="reduction")(embeddings, labels, 0.5)
    np.testing.assert_allclose(mean, pairs.sum() / num_pairs, rtol=1e-5)
    total = losses.ntxent(embeddings, labels, 0.5, reduction="sum")
    np.testing.assert_allclose(total, pairs.sum(), rtol=1e-5)
    matrix = losses.ntxent(embeddings, labels, 0.5, reduction="none")
    np.testing.assert_allclose(matrix, pairs, rtol=1e-5, atol=1e-6)


def test_ntxent_without_positive_pairs_is_zero():
    embeddings = jax.random.normal(jax.random.key(6), (3, 2))
    labels = jnp.array([0, 1, 2])
    value, grad = jax.value_and_grad(losses.ntxent)(embeddings, labels)
    assert value == 0.0
    np.testing.assert_array_equal(grad, np.zeros((3, 2)))


def test_ntxent_single_group_has_zero_pair_losses():
    embeddings = jax.random.normal(jax.random.key(7), (3, 2))
    value, grad = jax.value_and_grad(losses.ntxent)(embeddings, jnp.zeros(3, jnp.int32))
    assert value == 0.0
    assert np.all(np.isfinite(grad))


def test_ntxent_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="reduction='max' is invalid"):
        losses.ntxent(jnp.ones((2, 2)), jnp.array([0, 0]), reduction="max")


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: losses.cosine_similarity(a, b),
        lambda a, b: losses.triplet_margin_loss(a, b, -b, margin=4.0),
        lambda a, b: losses.ntxent(
            jnp.concatenate([a, b]), jnp.array([0, 1, 0, 1]), 0.3
        ),
    ],
    ids=["cosine", "triplet", "ntxent"],
)
def test_similarity_gradients_match_finite_differences(fn):
    # First order only: the second-order checks of these compositions take
    # long to compile and add little over the first-order ones.
    a = jnp.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]])
    b = jnp.array([[0.6, 0.2, -0.1], [-0.5, 0.9, 0.7]])
    check_grads(fn, (a, b), order=1, modes=("fwd", "rev"))
