"""Sparsemax losses: the Fenchel-Young losses of the sparse sigmoid and of sparsemax.

Like the logistic and softmax losses they are convex in the scores, but
they are exactly 0 once the prediction (``jax.nn.sparse_sigmoid`` or
sparsemax, which can put probability 0 on a class) matches the label.

References:
    Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of
    Attention and Multi-Label Classification", 2016,
    https://arxiv.org/abs/1602.02068

    Blondel, Martins and Niculae, "Learning with Fenchel-Young Losses",
    JMLR 2020 (Sec. 4.4).
"""

import jax
import jax.numpy as jnp

from optgrad.losses import _checks, _numerics


def sparsemax_loss(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the binary sparsemax loss, elementwise.

    The loss is ``sparse_plus(-x)`` for label 1 and ``sparse_plus(x)`` for
    label 0, where ``sparse_plus(x)`` is 0 for ``x <= -1``, ``(x + 1)**2 / 4``
    on ``(-1, 1)`` and ``x`` for ``x >= 1``. It is 0 exactly when
    ``jax.nn.sparse_sigmoid(logits)`` equals the label.

    Args:
        logits: Floating-point scores of any shape.
        labels: Labels in {0, 1}, shaped like ``logits`` (or a shape that
            broadcasts to it without changing it); any nonzero value counts
            as 1.

    Returns:
        The loss per element, shaped like ``logits``.

    Raises:
        TypeError: If ``logits`` is not floating point.
        ValueError: If ``labels`` does not match ``logits``.
    """
    call = "sparsemax_loss"
    logits = _checks.float_array(call, "logits", logits)
    labels = _checks.broadcast_to_shape(
        call, "labels", jnp.asarray(labels), "logits", logits.shape
    )
    work = logits.astype(_checks.compute_dtype(logits.dtype))
    signed = jnp.where(labels != 0, -work, work)
    return jax.nn.sparse_plus(signed).astype(logits.dtype)


@jax.custom_jvp
def _sparsemax(scores: jax.Array) -> jax.Array:
    """Project ``scores`` onto the probability simplex along the last axis."""
    descending = jnp.flip(jnp.sort(scores, axis=-1), axis=-1)
    cumulative = jnp.cumsum(descending, axis=-1)
    ranks = jax.lax.broadcasted_iota(scores.dtype, scores.shape, scores.ndim - 1) + 1
    # The k largest scores are all in the support while 1 + k * s_(k) exceeds
    # their sum. This holds for k = 1, so the support is never empty.
    in_support = 1.0 + ranks * descending > cumulative
    support_size = jnp.sum(in_support, axis=-1, keepdims=True)
    support_sum = jnp.take_along_axis(cumulative, support_size - 1, axis=-1)
    threshold = (support_sum - 1.0) / support_size.astype(scores.dtype)
    return jnp.maximum(scores - threshold, 0.0)


@_sparsemax.defjvp
def _sparsemax_jvp(primals, tangents):
    (scores,) = primals
    (scores_dot,) = tangents
    probabilities = _sparsemax(scores)
    # On the support the Jacobian is the identity minus the support's mean;
    # off the support it is 0.
    support = (probabilities > 0).astype(scores.dtype)
    size = jnp.sum(support, axis=-1, keepdims=True)
    mean_dot = jnp.sum(support * scores_dot, axis=-1, keepdims=True) / size
    return probabilities, support * (scores_dot - mean_dot)


def multiclass_sparsemax_loss(
    scores: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the multiclass sparsemax loss for integer labels.

    With ``p = sparsemax(scores)`` the loss is
    ``sum_k p[k] * (scores[k] - scores[y]) + (1 - sum_k p[k]**2) / 2``.
    Its gradient with respect to the scores is ``p - one_hot(y)``, and it is
    0 exactly when sparsemax puts all its mass on the labelled class.

    Args:
        scores: Class scores, ``[..., num_classes]``.
        labels: Integer class indices, ``[...]``.

    Returns:
        The loss per example, shaped like ``labels``.

    Raises:
        TypeError: If ``scores`` is not floating point or ``labels`` not integer.
        ValueError: If the shape of ``labels`` does not fit ``scores``.

    Notes:
        optax 0.2.8 maps over the first axis, so it accepts only 2-D scores;
        here any leading shape works. An out-of-range label gives NaN
        (optax: a finite value).
    """
    call = "multiclass_sparsemax_loss"
    scores = _checks.float_array(call, "scores", scores)
    labels = _checks.integer_array(call, "labels", labels)
    axes = (scores.ndim - 1,) if scores.ndim else ()
    num_classes = _checks.check_class_labels(call, labels, "scores", scores.shape, axes)
    index, valid = _numerics.class_indices(labels, num_classes)

    work = scores.astype(_checks.compute_dtype(scores.dtype))
    probabilities = _sparsemax(work)
    gaps = work - _numerics.take_class(work, index)[..., None]
    # Classes outside the support have p = 0, and their gap may be -inf, so
    # the gap is replaced by 0 there to keep 0 * inf out of the sum.
    gaps = jnp.where(probabilities > 0, gaps, jnp.zeros_like(gaps))
    loss = jnp.sum(probabilities * gaps, axis=-1) + 0.5 * (
        1.0 - jnp.sum(jnp.square(probabilities), axis=-1)
    )
    return _numerics.nan_where_invalid(loss, valid).astype(scores.dtype)
