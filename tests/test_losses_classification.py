import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from loss_helpers import check_grads

from optgrad import losses

INF = np.inf


def _np_log_softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _value_and_logits_grad(fn, logits, labels, **kwargs):
    def total(x):
        return jnp.sum(fn(x, labels, **kwargs))

    value = jax.jit(lambda x: fn(x, labels, **kwargs))(logits)
    return value, jax.jit(jax.grad(total))(logits)


@pytest.mark.parametrize(
    "fn", [losses.softmax_cross_entropy, losses.safe_softmax_cross_entropy]
)
def test_neg_inf_logit_masks_class(fn):
    logits = jnp.array([[0.0, -INF, 1.0], [2.0, 0.0, -INF]])
    labels = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    value, grad = _value_and_logits_grad(fn, logits, labels)

    # With class k masked, the loss is -log softmax over the other classes.
    expected = np.array([math.log1p(math.e), math.log1p(math.e**2)])
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    assert grad[0, 1] == 0.0
    assert grad[1, 2] == 0.0
    probs_row0 = np.exp(_np_log_softmax([0.0, 1.0]))
    np.testing.assert_allclose(grad[0, [0, 2]], probs_row0 - [1.0, 0.0], rtol=1e-6)


@pytest.mark.parametrize(
    "fn", [losses.softmax_cross_entropy, losses.safe_softmax_cross_entropy]
)
def test_all_neg_inf_row_is_zero(fn):
    logits = jnp.array([[-INF, -INF, -INF], [1.0, 2.0, 3.0]])
    labels = jnp.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    value, grad = _value_and_logits_grad(fn, logits, labels)

    assert value[0] == 0.0
    np.testing.assert_array_equal(grad[0], np.zeros(3))
    np.testing.assert_allclose(
        value[1], -_np_log_softmax([1.0, 2.0, 3.0])[2], rtol=1e-6
    )
    assert np.all(np.isfinite(grad[1]))


def test_label_on_neg_inf_is_inf():
    logits = jnp.array([[0.0, -INF]])
    value = losses.softmax_cross_entropy(logits, jnp.array([[0.5, 0.5]]))
    assert value[0] == INF


def test_labels_gradient_is_minus_log_probs():
    logits = jnp.array([[0.5, -1.0, 2.0]])
    labels = jnp.array([[0.0, 1.0, 0.0]])
    grad = jax.grad(lambda y: jnp.sum(losses.softmax_cross_entropy(logits, y)))(labels)
    np.testing.assert_allclose(grad[0], -_np_log_softmax(logits[0]), rtol=1e-6)


def test_labels_gradient_zero_on_masked_class():
    logits = jnp.array([[0.5, -INF, 2.0]])
    labels = jnp.array([[0.25, 0.0, 0.75]])
    grad = jax.jit(
        jax.grad(lambda y: jnp.sum(losses.softmax_cross_entropy(logits, y)))
    )(labels)
    assert grad[0, 1] == 0.0
    expected = -_np_log_softmax(np.array([0.5, 2.0]))
    np.testing.assert_allclose(grad[0, [0, 2]], expected, rtol=1e-6)


def test_soft_labels_large_logits_precision():
    # Near 1e4 a float32 ulp is about 1e-3, so subtracting the label's logit
    # from the log-sum-exp would lose the loss's third digit.
    logits = jnp.array([[1e4, 1e4 - 2.0, 1e4 - 3.0]])
    labels = jnp.array([[1.0, 0.0, 0.0]])
    value = losses.softmax_cross_entropy(logits, labels)
    expected = math.log1p(math.exp(-2.0) + math.exp(-3.0))
    np.testing.assert_allclose(value, [expected], rtol=1e-6)


def test_soft_labels_second_order_both_args():
    logits = jnp.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]])
    labels = jnp.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    check_grads(losses.softmax_cross_entropy, (logits, labels), order=2)


def test_softmax_cross_entropy_where_equals_neg_inf_logits():
    logits = jax.random.normal(jax.random.key(0), (3, 4))
    labels = jnp.array(
        [[0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0], [0.2, 0.3, 0.0, 0.5]]
    )
    where = jnp.array(
        [[True, False, True, False], [False, False, False, False], [True] * 4]
    )
    masked_logits = jnp.where(where, logits, -INF)
    masked_labels = jnp.where(where, labels, 0.0)

    value, grad = _value_and_logits_grad(
        losses.softmax_cross_entropy, logits, labels, where=where
    )
    reference = losses.softmax_cross_entropy(masked_logits, masked_labels)
    np.testing.assert_allclose(value, reference, rtol=1e-6)
    assert value[1] == 0.0
    np.testing.assert_array_equal(grad[1], np.zeros(4))
    np.testing.assert_array_equal(grad[0, [1, 3]], np.zeros(2))


def test_softmax_cross_entropy_zero_size_batch():
    value = losses.softmax_cross_entropy(jnp.zeros((0, 3)), jnp.zeros((0, 3)))
    assert value.shape == (0,)
    value = losses.softmax_cross_entropy_with_integer_labels(
        jnp.zeros((0, 3)), jnp.zeros((0,), jnp.int32)
    )
    assert value.shape == (0,)


@pytest.mark.parametrize(
    "fn", [losses.softmax_cross_entropy, losses.poly_loss_cross_entropy]
)
def test_soft_label_losses_reject_zero_classes(fn):
    with pytest.raises(ValueError, match=r"shape \(2, 0\) has 0 classes"):
        fn(jnp.zeros((2, 0)), jnp.zeros((2, 0)))


def test_integer_labels_out_of_range_give_nan():
    logits = jax.random.normal(jax.random.key(1), (6, 4))
    labels = jnp.array([0, 3, -1, 4, -4, 100])
    value = jax.jit(losses.softmax_cross_entropy_with_integer_labels)(logits, labels)

    np.testing.assert_array_equal(
        np.isnan(value), [False, False, True, True, True, True]
    )
    log_probs = _np_log_softmax(logits)
    np.testing.assert_allclose(value[:2], -log_probs[[0, 1], [0, 3]], rtol=1e-6)


def test_integer_labels_invalid_nan_gradient():
    logits = jax.random.normal(jax.random.key(4), (4, 5))
    labels = jnp.array([1, -1, 5, 4])

    def total(x):
        return jnp.sum(losses.softmax_cross_entropy_with_integer_labels(x, labels))

    grad = np.asarray(jax.jit(jax.grad(total))(logits))
    assert np.all(np.isnan(grad[1:3]))
    # Valid rows keep the plain gradient: softmax minus the one-hot label.
    probs = np.exp(_np_log_softmax(logits))
    expected = probs - np.eye(5)[[1, 0, 0, 4]]
    np.testing.assert_allclose(grad[[0, 3]], expected[[0, 3]], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [jnp.int8, jnp.int16, jnp.uint8])
def test_integer_labels_narrow_dtypes_no_wrap(dtype):
    # 200 classes do not fit int8: -1 must not turn into a valid class.
    logits = jax.random.normal(jax.random.key(5), (3, 200))
    labels = jnp.array([0, 199 if dtype != jnp.int8 else 127, -1]).astype(dtype)
    value = losses.softmax_cross_entropy_with_integer_labels(logits, labels)
    log_probs = _np_log_softmax(logits)
    index = np.asarray(labels[:2]).astype(np.int64)
    np.testing.assert_allclose(value[:2], -log_probs[[0, 1], index], rtol=1e-5)
    # uint8 reads -1 as 255, also outside the 200 classes.
    assert np.isnan(value[2])


@pytest.mark.parametrize(
    "fn",
    [
        losses.multiclass_hinge_loss,
        losses.multiclass_perceptron_loss,
        losses.multiclass_sparsemax_loss,
        losses.sparse_categorical_cross_entropy,
    ],
)
def test_class_index_losses_accept_int8_labels(fn):
    # 200 classes do not fit int8, so the range check must not compare in it.
    scores = jnp.full((3, 200), 1 / 200)
    wide = fn(scores, jnp.array([1, 127, -1], jnp.int32))
    narrow = fn(scores, jnp.array([1, 127, -1], jnp.int8))
    assert np.all(np.isfinite(narrow[:2]))
    assert np.isnan(narrow[2])
    np.testing.assert_array_equal(narrow[:2], wide[:2])


def test_integer_labels_beyond_32_bits():
    logits = jnp.ones((1, 3))
    value = losses.softmax_cross_entropy_with_integer_labels(
        logits, jnp.array([2**32 - 1], jnp.uint32)
    )
    assert np.isnan(value[0])
    with jax.enable_x64(True):
        labels = jnp.array([2**32, 2**32 + 1, 2**63 - 1], jnp.int64)
        value = losses.softmax_cross_entropy_with_integer_labels(
            jnp.ones((3, 3)), labels
        )
        assert np.all(np.isnan(value))


def test_integer_labels_large_logits_precision():
    # Adding the shift back before subtracting the label's logit would round
    # the loss at the size of 1e4 (a float32 ulp of about 1e-3): 1.8% off.
    logits = jnp.array([[1e4, 1e4 - 5.0], [10.0, 0.0]])
    value = losses.softmax_cross_entropy_with_integer_labels(logits, jnp.array([0, 0]))
    np.testing.assert_allclose(value[0], math.log1p(math.exp(-5.0)), rtol=1e-5)
    # A total near 1 still rounds at float32's 6e-8 before its logarithm, so
    # a loss of 4.5e-5 keeps about three digits.
    np.testing.assert_allclose(value[1], math.log1p(math.exp(-10.0)), rtol=1e-3)
    half = jnp.array([[1000.0, 990.0, 0.0]], jnp.float16)
    value = losses.softmax_cross_entropy_with_integer_labels(half, jnp.array([0]))
    np.testing.assert_allclose(float(value[0]), math.log1p(math.exp(-10.0)), rtol=1e-3)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: losses.softmax_cross_entropy_with_integer_labels(x, jnp.array([0])),
        lambda x: losses.softmax_cross_entropy(x, jnp.array([[1.0, 0.0, 0.0]])),
        lambda x: losses.poly_loss_cross_entropy(x, jnp.array([[1.0, 0.0, 0.0]])),
    ],
    ids=["integer", "one-hot", "poly"],
)
def test_nan_logit_gives_nan_row(fn):
    logits = jnp.array([[1.0, jnp.nan, 0.0]])
    value = jax.jit(fn)(logits)
    grad = np.asarray(jax.jit(jax.grad(lambda x: jnp.sum(fn(x))))(logits))
    assert np.isnan(value[0])
    assert np.all(np.isnan(grad))


def test_integer_labels_match_one_hot_with_where():
    logits = jax.random.normal(jax.random.key(2), (3, 5))
    labels = jnp.array([1, 4, 0])
    where = jnp.array([[True] * 5, [False, True, True, True, True], [False] * 5])
    value = losses.softmax_cross_entropy_with_integer_labels(
        logits, labels, where=where
    )
    one_hot = jax.nn.one_hot(labels, 5)
    reference = losses.softmax_cross_entropy(logits, one_hot, where=where)
    np.testing.assert_allclose(value, reference, rtol=1e-6)
    assert value[2] == 0.0


def test_integer_labels_bfloat16_reduced_in_float32():
    logits = jnp.zeros((2, 4096), jnp.bfloat16)
    labels = jnp.array([0, 4095])
    jaxpr = jax.make_jaxpr(losses.softmax_cross_entropy_with_integer_labels)(
        logits, labels
    )
    reductions = [
        eqn
        for eqn in jaxpr.jaxpr.eqns
        if eqn.primitive.name in ("reduce_sum", "reduce_max")
    ]
    assert reductions
    for eqn in reductions:
        assert eqn.invars[0].aval.dtype == jnp.float32, eqn

    # 4096 equal logits give log(4096) up to the final rounding to bfloat16.
    value = jax.jit(losses.softmax_cross_entropy_with_integer_labels)(logits, labels)
    assert value.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(value, np.float32), math.log(4096), rtol=4e-3)

    random_logits = (4.0 * jax.random.normal(jax.random.key(3), (3, 257))).astype(
        jnp.bfloat16
    )
    random_labels = jnp.array([0, 100, 256])
    value = losses.softmax_cross_entropy_with_integer_labels(
        random_logits, random_labels
    )
    wide = np.asarray(random_logits, np.float64)
    expected = -_np_log_softmax(wide)[np.arange(3), random_labels]
    # The float32 result is rounded once to bfloat16: half an ulp, 2**-9.
    np.testing.assert_allclose(np.asarray(value, np.float64), expected, rtol=2**-8)
    grad = jax.grad(
        lambda x: jnp.sum(
            losses.softmax_cross_entropy_with_integer_labels(x, random_labels)
        ).astype(jnp.float32)
    )(random_logits)
    assert grad.dtype == jnp.bfloat16
    assert np.all(np.isfinite(np.asarray(grad, np.float32)))


def test_integer_labels_reject_float_labels():
    with pytest.raises(TypeError, match="integer array of class indices"):
        losses.softmax_cross_entropy_with_integer_labels(
            jnp.zeros((2, 3)), jnp.zeros((2,))
        )


def test_softmax_cross_entropy_rejects_integer_logits():
    with pytest.raises(TypeError, match="logits must be a floating-point array"):
        losses.softmax_cross_entropy(jnp.zeros((2, 3), jnp.int32), jnp.zeros((2, 3)))


def test_where_must_be_boolean():
    with pytest.raises(TypeError, match="where must be a boolean array"):
        losses.softmax_cross_entropy(
            jnp.zeros((2, 3)), jnp.zeros((2, 3)), where=jnp.ones((2, 3), jnp.int32)
        )


def test_where_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\).*\(2,\)"):
        losses.softmax_cross_entropy(
            jnp.zeros((2, 3)), jnp.zeros((2, 3)), where=jnp.ones((3,), bool)
        )


def test_poly_loss_numpy_reference():
    logits = jax.random.normal(jax.random.key(4), (3, 4))
    labels = jax.nn.softmax(jax.random.normal(jax.random.key(5), (3, 4)))
    value = losses.poly_loss_cross_entropy(logits, labels, epsilon=1.5)

    # Poly-1: -sum y log p + epsilon * (1 - sum y p).
    log_p = _np_log_softmax(logits)
    y = np.asarray(labels, np.float64)
    expected = -(y * log_p).sum(-1) + 1.5 * (1.0 - (y * np.exp(log_p)).sum(-1))
    np.testing.assert_allclose(value, expected, rtol=1e-5)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: losses.softmax_cross_entropy(x, jnp.array([[0.2, 0.3, 0.5]] * 2)),
        lambda x: losses.softmax_cross_entropy_with_integer_labels(
            x, jnp.array([2, 0])
        ),
        lambda x: losses.poly_loss_cross_entropy(x, jnp.array([[0.0, 1.0, 0.0]] * 2)),
    ],
    ids=["one-hot", "integer", "poly"],
)
def test_softmax_losses_gradients_match_finite_differences(fn):
    logits = jnp.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]])
    check_grads(fn, (logits,), order=2, modes=("fwd", "rev"))


def test_smooth_labels_numpy_reference():
    labels = jnp.array([[0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.5, 0.0]])
    value = losses.smooth_labels(labels, 0.2)
    # (1 - alpha) * y + alpha / num_classes
    expected = 0.8 * np.asarray(labels) + 0.2 / 4
    np.testing.assert_allclose(value, expected, rtol=1e-6)


def test_smooth_labels_where_masks_classes():
    labels = jnp.array(
        [[0.0, 1.0, 0.0, 0.0], [0.5, 0.0, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0]]
    )
    where = jnp.array(
        [[True, True, False, True], [True, False, True, False], [False] * 4]
    )
    value = jax.jit(lambda y, m: losses.smooth_labels(y, 0.3, where=m))(labels, where)

    # Included classes: (1 - alpha) * y + alpha / (number included); others 0.
    np.testing.assert_allclose(value[0], [0.1, 0.7 + 0.1, 0.0, 0.1], rtol=1e-6)
    np.testing.assert_allclose(
        value[1], [0.35 + 0.15, 0.0, 0.35 + 0.15, 0.0], rtol=1e-6
    )
    np.testing.assert_array_equal(value[:2][~where[:2]], 0.0)
    np.testing.assert_allclose(value[:2].sum(-1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(value[2], labels[2])


def test_smooth_labels_per_example_where():
    labels = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    value = losses.smooth_labels(labels, 0.5, where=jnp.array([True, False]))
    np.testing.assert_allclose(value, [[0.75, 0.25], [0.0, 1.0]], rtol=1e-6)


def test_smooth_labels_keeps_bfloat16():
    labels = jax.nn.one_hot(jnp.array([1, 2]), 3, dtype=jnp.bfloat16)
    value = losses.smooth_labels(labels, 0.1)
    assert value.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(value, np.float32).sum(-1), [1.0, 1.0], rtol=1e-2
    )


def test_smooth_labels_rejects_alpha_above_one():
    with pytest.raises(
        ValueError,
        match=r"smooth_labels\(alpha=1.5\) is out of range: alpha must be in \[0, 1\]",
    ):
        losses.smooth_labels(jnp.ones((2, 2)), 1.5)


def test_integer_labels_mismatch_names_logits_shape():
    with pytest.raises(
        ValueError, match=r"\(4,\).*\(2, 3, 4\).*Pass labels of shape \(3,\)"
    ):
        losses.softmax_cross_entropy_with_integer_labels(
            jnp.zeros((2, 3, 4)), jnp.zeros((4,), jnp.int32), axis=(0, 2)
        )
