"""Margin losses for linear classifiers: hinge and perceptron, binary and multiclass.

The binary losses take targets in {-1, 1}. The multiclass losses take
scores ``[..., num_classes]`` and integer labels ``[...]``; a label outside
``[0, num_classes)`` gives NaN for its example instead of a silently wrong
loss.
"""

import jax
import jax.numpy as jnp

from optgrad.losses import _checks, _numerics


def _binary_margins(call, predictor_outputs, targets):
    """Return the margins ``predictor_outputs * targets`` and the result dtype."""
    outputs = _checks.float_array(call, "predictor_outputs", predictor_outputs)
    targets = _checks.labels_like(call, "targets", targets, outputs.dtype)
    targets = _checks.broadcast_to_shape(
        call, "targets", targets, "predictor_outputs", outputs.shape
    )
    dtype = _checks.result_dtype(outputs.dtype, targets.dtype)
    work = _checks.compute_dtype(dtype)
    return outputs.astype(work) * targets.astype(work), dtype


def hinge_loss(
    predictor_outputs: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the binary hinge loss ``max(0, 1 - predictor_outputs * targets)``.

    Args:
        predictor_outputs: Scores of the decision function, of any shape.
        targets: Targets in {-1, 1}, shaped like ``predictor_outputs`` (or a
            shape that broadcasts to it without changing it).

    Returns:
        The loss per element, shaped like ``predictor_outputs``.

    Raises:
        TypeError: If ``predictor_outputs`` is not floating point.
        ValueError: If ``targets`` does not match ``predictor_outputs``.
    """
    margins, dtype = _binary_margins("hinge_loss", predictor_outputs, targets)
    return jnp.maximum(0.0, 1.0 - margins).astype(dtype)


def perceptron_loss(
    predictor_outputs: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the binary perceptron loss ``max(0, -predictor_outputs * targets)``.

    Args:
        predictor_outputs: Scores of the decision function, of any shape.
        targets: Targets in {-1, 1}, shaped like ``predictor_outputs`` (or a
            shape that broadcasts to it without changing it).

    Returns:
        The loss per element, shaped like ``predictor_outputs``.

    Raises:
        TypeError: If ``predictor_outputs`` is not floating point.
        ValueError: If ``targets`` does not match ``predictor_outputs``.
    """
    margins, dtype = _binary_margins("perceptron_loss", predictor_outputs, targets)
    return jnp.maximum(0.0, -margins).astype(dtype)


def _multiclass_inputs(call, scores, labels):
    """Return ``(scores, index, valid, dtype)``, the scores in the compute dtype."""
    scores = _checks.float_array(call, "scores", scores)
    labels = _checks.integer_array(call, "labels", labels)
    axes = (scores.ndim - 1,) if scores.ndim else ()
    num_classes = _checks.check_class_labels(call, labels, "scores", scores.shape, axes)
    index, valid = _numerics.class_indices(labels, num_classes)
    work = scores.astype(_checks.compute_dtype(scores.dtype))
    return work, index, valid, scores.dtype


def multiclass_hinge_loss(
    scores: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the multiclass hinge loss ``max_k (scores[k] + [k != y]) - scores[y]``.

    The loss is 0 when the labelled class outscores every other class by at
    least 1 (Crammer and Singer's formulation).

    Args:
        scores: Class scores, ``[..., num_classes]``.
        labels: Integer class indices, ``[...]``.

    Returns:
        The loss per example, shaped like ``labels``.

    Raises:
        TypeError: If ``scores`` is not floating point or ``labels`` not integer.
        ValueError: If the shape of ``labels`` does not fit ``scores``.

    Notes:
        An out-of-range label gives NaN (optax 0.2.8: a finite wrong value).
    """
    scores, index, valid, dtype = _multiclass_inputs(
        "multiclass_hinge_loss", scores, labels
    )
    classes = jax.lax.broadcasted_iota(index.dtype, scores.shape, scores.ndim - 1)
    is_label = classes == index[..., None]
    margins = jnp.where(is_label, scores, scores + 1.0)
    loss = jnp.max(margins, axis=-1) - _numerics.take_class(scores, index)
    return _numerics.nan_where_invalid(loss, valid).astype(dtype)


def multiclass_perceptron_loss(
    scores: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the multiclass perceptron loss ``max_k scores[k] - scores[y]``.

    Args:
        scores: Class scores, ``[..., num_classes]``.
        labels: Integer class indices, ``[...]``.

    Returns:
        The loss per example, shaped like ``labels``.

    Raises:
        TypeError: If ``scores`` is not floating point or ``labels`` not integer.
        ValueError: If the shape of ``labels`` does not fit ``scores``.

    Notes:
        An out-of-range label gives NaN (optax 0.2.8: a finite wrong value).

    References:
        Collins, "Discriminative Training Methods for Hidden Markov Models:
        Theory and Experiments with Perceptron Algorithms", EMNLP 2002.
    """
    scores, index, valid, dtype = _multiclass_inputs(
        "multiclass_perceptron_loss", scores, labels
    )
    loss = jnp.max(scores, axis=-1) - _numerics.take_class(scores, index)
    return _numerics.nan_where_invalid(loss, valid).astype(dtype)
