import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses


def _np_clamped_log(x):
    """max(log(x), -100), the clamp PyTorch's BCELoss applies."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(np.asarray(x, np.float64)), -100.0)


def test_binary_cross_entropy_numpy_reference():
    p = jnp.array([0.0, 0.0, 1.0, 1.0, 0.3, 0.9, 1e-30, 0.5])
    y = jnp.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.2, 1.0, 0.5])
    value = jax.jit(losses.binary_cross_entropy)(p, y)

    # -(y * max(log p, -100) + (1 - y) * max(log(1 - p), -100))
    p64, y64 = np.asarray(p, np.float64), np.asarray(y, np.float64)
    expected = -(y64 * _np_clamped_log(p64) + (1 - y64) * _np_clamped_log(1 - p64))
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(value[:4], [0.0, 100.0, 100.0, 0.0])


def test_binary_cross_entropy_gradient_at_zero_and_one():
    p = jnp.array([0.0, 0.0, 1.0, 1.0, 0.25])
    y = jnp.array([0.0, 1.0, 0.0, 1.0, 1.0])
    grad = jax.jit(jax.grad(lambda q: jnp.sum(losses.binary_cross_entropy(q, y))))(p)

    # Derivative of the clamped formula: (1 - y) / (1 - p) - y / p for the
    # unclamped terms, 0 for a clamped one.
    np.testing.assert_allclose(grad, [1.0, 0.0, 0.0, -1.0, -4.0], rtol=1e-6)


def test_binary_cross_entropy_labels_gradient_is_finite():
    p = jnp.array([0.0, 1.0, 0.5])
    grad = jax.grad(
        lambda y: jnp.sum(losses.binary_cross_entropy(p, y)), allow_int=False
    )(jnp.array([1.0, 0.0, 0.5]))
    # d/dy = max(log(1 - p), -100) - max(log p, -100)
    np.testing.assert_allclose(grad, [100.0, -100.0, 0.0], atol=1e-6)


def test_categorical_cross_entropy_numpy_reference():
    p = jnp.array([[0.2, 0.0, 0.8], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    y = jnp.array([[0.0, 0.0, 1.0], [0.3, 0.0, 0.7], [0.5, 0.5, 0.0]])
    value = jax.jit(losses.categorical_cross_entropy)(p, y)

    # -sum_k y_k * max(log p_k, -100)
    expected = -(np.asarray(y, np.float64) * _np_clamped_log(p)).sum(-1)
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    np.testing.assert_allclose(value[1:], [0.3 * np.log(2) + 70.0, 50.0], rtol=1e-6)


def test_categorical_cross_entropy_gradient_finite_at_zero():
    p = jnp.array([[0.0, 0.4, 0.6]])
    y = jnp.array([[0.5, 0.5, 0.0]])
    grad = jax.grad(lambda q: jnp.sum(losses.categorical_cross_entropy(q, y)))(p)
    # -y / p where log p is not clamped, else 0.
    np.testing.assert_allclose(grad, [[0.0, -1.25, 0.0]], rtol=1e-6)


def test_categorical_cross_entropy_axis():
    p = jax.nn.softmax(jax.random.normal(jax.random.key(0), (3, 4)), axis=0)
    y = jax.nn.one_hot(jnp.array([0, 2, 1, 1]), 3).T
    value = losses.categorical_cross_entropy(p, y, axis=0)
    assert value.shape == (4,)
    expected = -(np.asarray(y) * np.log(np.asarray(p, np.float64))).sum(0)
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_sparse_categorical_matches_one_hot():
    p = jax.nn.softmax(jax.random.normal(jax.random.key(1), (2, 3, 5)))
    p = p.at[0, 0, 2].set(0.0)
    labels = jnp.array([[2, 0, 4], [1, 1, 3]])
    value = jax.jit(losses.sparse_categorical_cross_entropy)(p, labels)
    reference = losses.categorical_cross_entropy(p, jax.nn.one_hot(labels, 5))
    np.testing.assert_allclose(value, reference, rtol=1e-6)
    assert value[0, 0] == 100.0


def test_sparse_categorical_out_of_range_is_nan():
    p = jnp.full((4, 3), 1.0 / 3.0)
    value = losses.sparse_categorical_cross_entropy(p, jnp.array([0, -1, 3, 2]))
    np.testing.assert_array_equal(np.isnan(value), [False, True, True, False])
    np.testing.assert_allclose(np.asarray(value)[[0, 3]], np.log(3.0), rtol=1e-6)


def test_binary_cross_entropy_invalid_probability_is_nan():
    p = jnp.array([1.5, -0.1, jnp.nan, jnp.inf, 1.0 + 1e-7, 0.0, 1.0, 0.5])
    y = jnp.array([1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5])
    value = jax.jit(losses.binary_cross_entropy)(p, y)
    np.testing.assert_array_equal(np.isnan(value), [True] * 5 + [False] * 3)
    np.testing.assert_allclose(value[5:], [100.0, 100.0, np.log(2.0)], rtol=1e-6)


def test_binary_cross_entropy_invalid_input_has_nan_gradient():
    p = jnp.array([-0.1, 0.0, 1.0, 0.3])
    y = jnp.array([1.0, 1.0, 0.0, 1.0])
    grad = jax.grad(lambda q: jnp.sum(losses.binary_cross_entropy(q, y)))(p)
    np.testing.assert_array_equal(np.isnan(grad), [True, False, False, False])
    np.testing.assert_allclose(grad[1:], [0.0, 0.0, -1.0 / 0.3], rtol=1e-6)


def test_binary_cross_entropy_invalid_label_is_nan():
    value = losses.binary_cross_entropy(
        jnp.array([0.3, 0.3, 0.3]), jnp.array([2.0, -1.0, 0.25])
    )
    np.testing.assert_array_equal(np.isnan(value), [True, True, False])
    expected = -(0.25 * np.log(0.3) + 0.75 * np.log(0.7))
    np.testing.assert_allclose(value[2], expected, rtol=1e-6)


def test_binary_cross_entropy_invalid_probability_bfloat16():
    p = jnp.array([1.5, 0.0, 1.0], jnp.bfloat16)
    value = losses.binary_cross_entropy(p, jnp.array([1.0, 0.0, 1.0], jnp.bfloat16))
    assert value.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.isnan(value), [True, False, False])


def test_categorical_cross_entropy_invalid_probability_is_nan():
    p = jnp.array(
        [[0.0, 1.0], [2.0, 3.0], [0.5, 0.5], [-0.1, 1.1], [jnp.nan, 0.5], [0.3, 0.7]]
    )
    # The invalid probability of row 3 has label 0 and still marks the row.
    y = jnp.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [1, 0]])
    value = jax.jit(losses.categorical_cross_entropy)(p, y)
    np.testing.assert_array_equal(
        np.isnan(value), [False, True, False, True, True, False]
    )
    np.testing.assert_allclose(
        np.asarray(value)[[0, 2, 5]], [100.0, np.log(2.0), -np.log(0.3)], rtol=1e-6
    )


def test_sparse_categorical_invalid_probability_is_nan():
    p = jnp.array([[0.0, 1.0], [2.0, 0.3], [0.5, 0.5], [-0.5, 0.5], [jnp.nan, 1.0]])
    value = losses.sparse_categorical_cross_entropy(p, jnp.array([0, 0, 1, 1, 0]))
    np.testing.assert_array_equal(np.isnan(value), [False, True, False, False, True])
    # Row 3's invalid probability is not the labelled one, so it is not read.
    np.testing.assert_allclose(
        np.asarray(value)[[0, 2, 3]], [100.0, np.log(2.0), np.log(2.0)], rtol=1e-6
    )


def test_sparse_categorical_axis_zero():
    p = jax.nn.softmax(jax.random.normal(jax.random.key(2), (4, 3)), axis=0)
    labels = jnp.array([3, 0, 1])
    value = losses.sparse_categorical_cross_entropy(p, labels, axis=0)
    expected = -np.log(np.asarray(p, np.float64)[np.asarray(labels), np.arange(3)])
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_probability_losses_keep_bfloat16():
    p = jnp.array([[0.25, 0.75]], jnp.bfloat16)
    assert losses.binary_cross_entropy(p, jnp.ones((1, 2))).dtype == jnp.float32
    assert losses.binary_cross_entropy(p, jnp.array([[1, 0]])).dtype == jnp.bfloat16
    assert losses.categorical_cross_entropy(p, p).dtype == jnp.bfloat16
    value = losses.sparse_categorical_cross_entropy(p, jnp.array([1]))
    assert value.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(value, np.float32), -np.log(0.75), rtol=1e-2)


@pytest.mark.parametrize(
    ("fn", "labels"),
    [
        (losses.binary_cross_entropy, jnp.array([[0.0, 1.0, 0.3]])),
        (losses.categorical_cross_entropy, jnp.array([[0.2, 0.5, 0.3]])),
        (losses.sparse_categorical_cross_entropy, jnp.array([1])),
    ],
    ids=["binary", "categorical", "sparse"],
)
def test_probability_losses_gradients_match_finite_differences(fn, labels):
    p = jnp.array([[0.3, 0.45, 0.25]])
    check_grads(lambda q: fn(q, labels), (p,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize(
    ("fn", "labels"),
    [
        (losses.binary_cross_entropy, jnp.ones((3, 2))),
        (losses.categorical_cross_entropy, jnp.ones((2, 4))),
        (losses.sparse_categorical_cross_entropy, jnp.ones((2, 3), jnp.int32)),
    ],
    ids=["binary", "categorical", "sparse"],
)
def test_probability_losses_shape_mismatch(fn, labels):
    with pytest.raises(ValueError, match=r"\(2, 3\)") as error:
        fn(jnp.full((2, 3), 0.5), labels)
    assert str(labels.shape) in str(error.value)
