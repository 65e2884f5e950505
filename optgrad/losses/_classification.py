"""Softmax cross-entropy losses on logits, and label smoothing.

The losses reduce over the class axis (or axes) and return one value per
example. A logit of ``-inf`` is a class with probability 0: where its label
is 0 it adds nothing to the loss and gets a zero gradient, which makes
``-inf`` a safe way to mask classes out. 16-bit logits are reduced in
float32 and the result is cast back to the input dtype.
"""

import math

import jax
import jax.numpy as jnp
from jax import lax

from optgrad import _validate
from optgrad.losses import _checks, _numerics


def _softmax_inputs(
    call: str,
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    axis: _checks.Axis,
    where: jax.typing.ArrayLike | None,
):
    """Check the inputs and return ``(logits, labels, axes, dtype)``.

    ``logits`` and ``labels`` are in the compute dtype; classes outside
    ``where`` have a logit of ``-inf`` and a label of 0.
    """
    logits = _checks.float_array(call, "logits", logits)
    labels = _checks.labels_like(call, "labels", labels, logits.dtype)
    labels = _checks.broadcast_to_shape(call, "labels", labels, "logits", logits.shape)
    axes = _checks.normalize_axes(call, axis, logits.ndim)
    mask = _checks.mask_array(call, where, logits.shape, axes)
    _checks.count_classes(call, "logits", logits.shape, axes)

    dtype = _checks.result_dtype(logits.dtype, labels.dtype)
    work = _checks.compute_dtype(dtype)
    logits = logits.astype(work)
    labels = labels.astype(work)
    if mask is not None:
        logits = jnp.where(mask, logits, jnp.full_like(logits, -jnp.inf))
        labels = jnp.where(mask, labels, jnp.zeros_like(labels))
    return logits, labels, axes, dtype


def _softmax_cross_entropy(call, logits, labels, axis, where) -> jax.Array:
    logits, labels, axes, dtype = _softmax_inputs(call, logits, labels, axis, where)
    return _numerics.softmax_cross_entropy(logits, labels, axes).astype(dtype)


def softmax_cross_entropy(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the cross-entropy between label distributions and softmax(logits).

    For each example the loss is ``-sum_k labels[k] * log_softmax(logits)[k]``
    over the class axis. Labels may be one-hot or any distribution, for
    example from ``smooth_labels``.

    Args:
        logits: Unnormalized log-probabilities, ``[..., num_classes]``.
        labels: Class probabilities with the shape of ``logits`` (or one that
            broadcasts to it without changing it).
        axis: The class axis or axes.
        where: Optional boolean mask of the classes to include, shaped like
            ``logits`` or like the result (one flag per example). An example
            with no class included has a loss of 0.

    Returns:
        The loss per example: ``logits``' shape without ``axis``.

    Raises:
        TypeError: If ``logits`` is not floating point or ``where`` not boolean.
        ValueError: If ``labels`` or ``where`` does not match ``logits``, or
            the class axes are empty.

    Notes:
        A logit of ``-inf`` whose label is 0 contributes 0 and gets a zero
        gradient, and an example whose logits are all ``-inf`` with all-zero
        labels has a loss of 0 and a zero gradient. optax 0.2.8 returns NaN
        in both cases; its ``safe_softmax_cross_entropy`` fixes the first but
        gives a NaN gradient for the second. A nonzero label on a ``-inf``
        logit gives a loss of ``inf``, the true value.

    Examples:
        >>> import jax.numpy as jnp
        >>> from optgrad import losses
        >>> logits = jnp.array([[2.0, 0.0, -jnp.inf]])
        >>> labels = jnp.array([[1.0, 0.0, 0.0]])
        >>> print(losses.softmax_cross_entropy(logits, labels).round(4))
        [0.1269]
    """
    return _softmax_cross_entropy("softmax_cross_entropy", logits, labels, axis, where)


def safe_softmax_cross_entropy(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
) -> jax.Array:
    """Compute the softmax cross-entropy over the last axis, taking ``0 * log(0)`` as 0.

    This is ``softmax_cross_entropy(logits, labels)``, which already treats
    ``-inf`` logits with zero labels safely. The name exists for code written
    against optax's function of the same name.

    Args:
        logits: Unnormalized log-probabilities, ``[..., num_classes]``.
        labels: Class probabilities with the shape of ``logits``.

    Returns:
        The loss per example, shape ``[...]``.

    Raises:
        TypeError: If ``logits`` is not floating point.
        ValueError: If ``labels`` does not match ``logits``, or the last axis
            is empty.

    Notes:
        An example whose logits are all ``-inf`` and labels all 0 has a loss
        of 0 and a zero gradient (optax 0.2.8: a NaN gradient).
    """
    return _softmax_cross_entropy(
        "safe_softmax_cross_entropy", logits, labels, -1, None
    )


def _move_class_axes_last(logits, mask, axes):
    """Transpose ``axes`` to the end and flatten them into one class axis."""
    ndim = logits.ndim
    if axes == (ndim - 1,):
        return logits, mask
    batch_axes = tuple(i for i in range(ndim) if i not in axes)
    order = batch_axes + axes
    batch_shape = tuple(logits.shape[i] for i in batch_axes)
    num_classes = math.prod(logits.shape[i] for i in axes)
    logits = jnp.transpose(logits, order).reshape((*batch_shape, num_classes))
    if mask is not None:
        mask = jnp.transpose(mask, order).reshape((*batch_shape, num_classes))
    return logits, mask


def softmax_cross_entropy_with_integer_labels(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the softmax cross-entropy for integer class labels.

    For each example the loss is ``logsumexp(logits) - logits[label]``, the
    same as ``softmax_cross_entropy`` with one-hot labels but without
    building them.

    Args:
        logits: Unnormalized log-probabilities, ``[..., num_classes]``.
        labels: Integer class indices, shaped like ``logits`` without
            ``axis``. With a tuple of axes, a label is a flat (row-major)
            index into the slice ``logits`` has over those axes.
        axis: The class axis or axes.
        where: Optional boolean mask of the classes to include, shaped like
            ``logits`` or like ``labels``. An example with no class included
            has a loss of 0.

    Returns:
        The loss per example, shaped like ``labels``, in the dtype of
        ``logits``.

    Raises:
        TypeError: If ``logits`` is not floating point, ``labels`` not
            integer or ``where`` not boolean.
        ValueError: If the shapes of ``labels`` or ``where`` do not fit
            ``logits``, or the class axes are empty.

    Notes:
        A label outside ``[0, num_classes)``, including -1, gives a loss of
        NaN for its example and a NaN gradient for that example's logits
        (those that ``where`` includes). optax 0.2.8 wraps -1 around to the
        last class, and for labels >= num_classes it gives NaN with a finite
        gradient that ignores the label. A label on a class that ``where``
        leaves out still reads that class's logit, as in optax, while
        ``softmax_cross_entropy`` drops such a label. bfloat16 and float16
        logits are reduced in float32.

    Examples:
        >>> import jax.numpy as jnp
        >>> from optgrad import losses
        >>> logits = jnp.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
        >>> loss = losses.softmax_cross_entropy_with_integer_labels(
        ...     logits, jnp.array([0, -1]))
        >>> print(loss.round(4))
        [0.1698    nan]
    """
    call = "softmax_cross_entropy_with_integer_labels"
    logits = _checks.float_array(call, "logits", logits)
    labels = _checks.integer_array(call, "labels", labels)
    axes = _checks.normalize_axes(call, axis, logits.ndim)
    mask = _checks.mask_array(call, where, logits.shape, axes)
    num_classes = _checks.check_class_labels(call, labels, "logits", logits.shape, axes)
    logits_2d, mask = _move_class_axes_last(logits, mask, axes)

    # A gathered label logit costs no pass over the logits. It is NaN for a
    # label out of range, which makes the shift, and so the whole row, NaN.
    work = logits_2d.astype(_checks.compute_dtype(logits.dtype))
    label_logits = _numerics.take_class_or_nan(work, labels)
    if mask is not None:
        work = jnp.where(mask, work, jnp.full_like(work, -jnp.inf))
    shift = jnp.max(work, axis=-1)
    shift = jnp.where(jnp.isfinite(shift), shift, jnp.zeros_like(shift))
    shift = jnp.where(jnp.isnan(label_logits), label_logits, shift)
    shift = lax.stop_gradient(shift)
    total = jnp.sum(jnp.exp(work - shift[..., None]), axis=-1)
    log_total = jnp.log(jnp.where(total == 0, jnp.ones_like(total), total))
    # The shift is taken off the label's logit first, so that the small
    # loss of a confident prediction is not rounded at the size of the logits.
    loss = log_total - (label_logits - shift)
    if mask is not None:
        _, valid = _numerics.class_indices(labels, num_classes)
        keep = jnp.any(mask, axis=-1) | ~valid
        loss = jnp.where(keep, loss, jnp.zeros_like(loss))
    return loss.astype(logits.dtype)


def poly_loss_cross_entropy(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    *,
    epsilon: jax.typing.ArrayLike = 2.0,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the Poly-1 loss: cross-entropy plus ``epsilon * (1 - p_t)``.

    ``p_t = sum_k labels[k] * softmax(logits)[k]`` is the probability the
    model gives to the labels. The extra term raises (``epsilon > 0``) or
    lowers (``epsilon < 0``) the weight of the leading term of the
    cross-entropy's expansion in powers of ``1 - p_t``. The paper below
    suggests 2.0 for ImageNet classification and -1.0 for detection.

    Args:
        logits: Unnormalized log-probabilities, ``[..., num_classes]``.
        labels: Class probabilities with the shape of ``logits``.
        epsilon: The coefficient of ``1 - p_t``.
        axis: The class axis or axes.
        where: Optional boolean mask of the classes to include, as in
            ``softmax_cross_entropy``.

    Returns:
        The loss per example: ``logits``' shape without ``axis``.

    Raises:
        TypeError: If ``logits`` or ``labels`` is not floating point.
        ValueError: If ``labels`` or ``where`` does not match ``logits``, or
            the class axes are empty.

    Notes:
        ``-inf`` logits are handled as in ``softmax_cross_entropy``.

    References:
        Leng et al., "PolyLoss: A Polynomial Expansion Perspective of
        Classification Loss Functions", 2022, https://arxiv.org/abs/2204.12511
    """
    call = "poly_loss_cross_entropy"
    _checks.float_array(call, "labels", labels)
    logits, labels, axes, dtype = _softmax_inputs(call, logits, labels, axis, where)
    log_probs = _numerics.log_softmax(logits, axes)
    cross_entropy = -jnp.sum(
        _numerics.cross_entropy_terms(labels, log_probs), axis=axes
    )
    one_minus_p_t = jnp.sum(labels * (1.0 - jnp.exp(log_probs)), axis=axes)
    epsilon = jnp.asarray(epsilon).astype(log_probs.dtype)
    return (cross_entropy + epsilon * one_minus_p_t).astype(dtype)


def smooth_labels(
    labels: jax.typing.ArrayLike,
    alpha: jax.typing.ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Mix labels with the uniform distribution: ``(1 - alpha) * labels + alpha / n``.

    ``n`` is the number of classes along ``axis``, or the number of classes
    that ``where`` includes.

    Args:
        labels: One-hot or soft labels, ``[..., num_classes]``.
        alpha: The weight of the uniform distribution, in [0, 1].
        axis: The class axis or axes.
        where: Optional boolean mask of the classes that may receive
            probability, shaped like ``labels`` or like one row of flags per
            example.

    Returns:
        The smoothed labels, shaped like ``labels``.

    Raises:
        TypeError: If ``labels`` is not floating point.
        ValueError: If ``where`` does not match ``labels`` or a concrete
            ``alpha`` is outside [0, 1].

    Notes:
        With ``where``, classes outside the mask get probability 0 and the
        ``alpha`` mass is spread over the included classes only, so labels
        that are zero outside the mask still sum to 1. An example whose mask
        is all False keeps its labels unchanged. optax 0.2.8 divides ``alpha``
        by the number of included classes but adds it to every class,
        masked or not, so its rows sum to more than 1.

    References:
        Müller et al., "When Does Label Smoothing Help?", 2019,
        https://arxiv.org/abs/1906.02629
    """
    call = "smooth_labels"
    labels = _checks.float_array(call, "labels", labels)
    _validate.check_range(call, "alpha", alpha, 0.0, 1.0)
    axes = _checks.normalize_axes(call, axis, labels.ndim)
    mask = _checks.mask_array(call, where, labels.shape, axes)

    work = _checks.compute_dtype(labels.dtype)
    values = labels.astype(work)
    alpha = jnp.asarray(alpha).astype(work)
    if alpha.ndim:
        alpha = _checks.broadcast_to_shape(call, "alpha", alpha, "labels", labels.shape)

    if mask is None:
        num_classes = math.prod(labels.shape[i] for i in axes)
        smoothed = (1.0 - alpha) * values + alpha / num_classes
        return smoothed.astype(labels.dtype)

    count = jnp.sum(mask, axis=axes, keepdims=True).astype(work)
    smoothed = (1.0 - alpha) * values + alpha / jnp.maximum(count, 1.0)
    smoothed = jnp.where(mask, smoothed, jnp.zeros_like(smoothed))
    smoothed = jnp.where(count > 0, smoothed, values)
    return smoothed.astype(labels.dtype)
