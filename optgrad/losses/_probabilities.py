"""Cross-entropy losses on probabilities, for models that end in a sigmoid or softmax.

Each log-probability is clamped at -100 before it is used, as PyTorch's
``BCELoss`` does, so probabilities of exactly 0 and 1 give finite values
and gradients. The gradient is the derivative of the clamped function: 0
for a log term that is clamped. Probabilities are used as given; they are
not clipped to an open interval or renormalized, and a probability outside
[0, 1] (or NaN) gives NaN for its example. Prefer the logit-based
losses (``sigmoid_binary_cross_entropy``, ``softmax_cross_entropy``) where
logits are available: they need no clamp.
"""

import jax
import jax.numpy as jnp

from optgrad.losses import _checks, _numerics

# The floor of every log term, the value PyTorch's BCELoss uses.
_LOG_FLOOR = -100.0


def _clamped_log(values: jax.Array) -> jax.Array:
    """Return ``max(log(values), -100)``, with a zero gradient where it is clamped.

    The logarithm is taken of a positive substitute where ``values`` is 0,
    so that its infinite derivative never meets the zero from the clamp.
    """
    positive = values > 0
    logs = jnp.log(jnp.where(positive, values, jnp.ones_like(values)))
    floor = jnp.full_like(values, _LOG_FLOOR)
    return jnp.where(positive, jnp.maximum(logs, floor), floor)


def _clamped_log1m(values: jax.Array) -> jax.Array:
    """Return ``max(log(1 - values), -100)``, accurate for small ``values``."""
    below_one = values < 1
    logs = jnp.log1p(-jnp.where(below_one, values, jnp.zeros_like(values)))
    floor = jnp.full_like(values, _LOG_FLOOR)
    return jnp.where(below_one, jnp.maximum(logs, floor), floor)


def _nan_outside_unit_interval(
    values: jax.Array, probabilities: jax.Array, labels: jax.Array | None = None
):
    """Return ``values`` with NaN where an input is outside [0, 1].

    The clamped logs map a negative probability, one above 1 and NaN to the
    floor, which would give a finite loss for an invalid input. The values
    are multiplied by NaN rather than replaced, so the gradient there is NaN
    too and an optimizer cannot silently stop on it.
    """
    valid = (probabilities >= 0) & (probabilities <= 1)
    if labels is not None:
        valid = valid & (labels >= 0) & (labels <= 1)
    factor = jnp.where(valid, jnp.ones_like(values), jnp.full_like(values, jnp.nan))
    return values * factor


def _probability_inputs(call, probabilities, labels, name="labels"):
    probabilities = _checks.float_array(call, "probabilities", probabilities)
    labels = _checks.labels_like(call, name, labels, probabilities.dtype)
    labels = _checks.broadcast_to_shape(
        call, name, labels, "probabilities", probabilities.shape
    )
    dtype = _checks.result_dtype(probabilities.dtype, labels.dtype)
    work = _checks.compute_dtype(dtype)
    return probabilities.astype(work), labels.astype(work), dtype


def binary_cross_entropy(
    probabilities: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the elementwise binary cross-entropy of probabilities.

    For a probability ``p`` and a label ``y`` in [0, 1] the loss is
    ``-(y * max(log(p), -100) + (1 - y) * max(log(1 - p), -100))``, the
    per-element value of PyTorch's ``BCELoss`` with ``reduction="none"``.
    A term whose label weight is 0 contributes 0.

    Args:
        probabilities: Predicted probabilities in [0, 1], of any shape.
        labels: Labels or target probabilities in [0, 1], shaped like
            ``probabilities`` (or a shape that broadcasts to it without
            changing it).

    Returns:
        The loss per element, shaped like ``probabilities``.

    Raises:
        TypeError: If ``probabilities`` is not floating point.
        ValueError: If ``labels`` does not match ``probabilities``.

    Notes:
        optax 0.2.8 has no such function. The gradient is that of the clamped
        formula, so it is 0 for a clamped term (for example ``p = 0`` with
        ``y = 1``). The backward kernel of PyTorch's ``BCELoss`` instead uses
        ``(p - y) / max(p * (1 - p), 1e-12)`` for every element. A
        probability or label outside [0, 1], or NaN, gives NaN for its
        element and a NaN gradient (PyTorch raises an error; the clamped
        formula alone would return a finite, possibly negative, loss).

    Examples:
        >>> import jax.numpy as jnp
        >>> from optgrad import losses
        >>> p = jnp.array([0.5, 0.0, 1.0])
        >>> print(losses.binary_cross_entropy(p, jnp.array([1.0, 1.0, 1.0])).round(4))
        [  0.6931 100.       0.    ]
    """
    probabilities, labels, dtype = _probability_inputs(
        "binary_cross_entropy", probabilities, labels
    )
    positive = labels * -_clamped_log(probabilities)
    negative = (1.0 - labels) * -_clamped_log1m(probabilities)
    loss = _nan_outside_unit_interval(positive + negative, probabilities, labels)
    return loss.astype(dtype)


def categorical_cross_entropy(
    probabilities: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
) -> jax.Array:
    """Compute the cross-entropy of predicted probabilities against label distributions.

    For each example the loss is ``-sum_k labels[k] * max(log(p[k]), -100)``
    over the class axis: the loss of ``softmax_cross_entropy`` for a model
    that outputs ``softmax(logits)`` itself. Labels may be one-hot or soft.

    Args:
        probabilities: Predicted class probabilities, ``[..., num_classes]``.
        labels: Class probabilities with the shape of ``probabilities`` (or
            one that broadcasts to it without changing it).
        axis: The class axis or axes.

    Returns:
        The loss per example: the shape of ``probabilities`` without ``axis``.

    Raises:
        TypeError: If ``probabilities`` is not floating point.
        ValueError: If ``labels`` does not match ``probabilities``.

    Notes:
        optax 0.2.8 has no such function. A probability of 0 costs at most
        100 per unit of label mass, with a zero gradient; Keras instead clips
        probabilities to ``[1e-7, 1 - 1e-7]`` and renormalizes them. An
        example with any probability outside [0, 1], or NaN, gets a loss of
        NaN, whatever its labels. Probabilities that do not sum to 1 are
        used as they are.
    """
    call = "categorical_cross_entropy"
    probabilities, labels, dtype = _probability_inputs(call, probabilities, labels)
    axes = _checks.normalize_axes(call, axis, probabilities.ndim)
    # A NaN term makes the sum NaN, so marking terms marks the whole example.
    terms = _nan_outside_unit_interval(
        labels * _clamped_log(probabilities), probabilities
    )
    return (-jnp.sum(terms, axis=axes)).astype(dtype)


def sparse_categorical_cross_entropy(
    probabilities: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    axis: int = -1,
) -> jax.Array:
    """Compute ``-max(log(probabilities[label]), -100)`` per example for integer labels.

    This is ``categorical_cross_entropy`` with one-hot labels, without
    building them.

    Args:
        probabilities: Predicted class probabilities, ``[..., num_classes]``.
        labels: Integer class indices, shaped like ``probabilities`` without
            ``axis``.
        axis: The class axis.

    Returns:
        The loss per example, shaped like ``labels``.

    Raises:
        TypeError: If ``probabilities`` is not floating point or ``labels``
            not integer.
        ValueError: If ``labels`` does not fit ``probabilities``.

    Notes:
        optax 0.2.8 has no such function. A label outside
        ``[0, num_classes)``, including -1, gives NaN for its example, and
        so does a probability of the labelled class outside [0, 1] or NaN.
        The other probabilities of the example are not read, so unlike
        ``categorical_cross_entropy`` an invalid one there goes unnoticed.
    """
    call = "sparse_categorical_cross_entropy"
    probabilities = _checks.float_array(call, "probabilities", probabilities)
    labels = _checks.integer_array(call, "labels", labels)
    if isinstance(axis, tuple | list):
        raise TypeError(f"{call}: axis must be one int, got {axis!r}.")
    axes = _checks.normalize_axes(call, axis, probabilities.ndim)
    num_classes = _checks.check_class_labels(
        call, labels, "probabilities", probabilities.shape, axes
    )
    probabilities = jnp.moveaxis(probabilities, axes[0], -1)
    index, valid = _numerics.class_indices(labels, num_classes)

    work = probabilities.astype(_checks.compute_dtype(probabilities.dtype))
    picked = _numerics.take_class(work, index)
    loss = -_clamped_log(picked)
    valid = valid & (picked >= 0) & (picked <= 1)
    return _numerics.nan_where_invalid(loss, valid).astype(probabilities.dtype)
