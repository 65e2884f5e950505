"""Overlap losses for segmentation masks: Dice, Tversky and Jaccard."""

import jax
import jax.numpy as jnp
import numpy as np

from optgrad.losses import _input_checks as checks

_REDUCTIONS = ("mean", "sum", "none")


def _prepare(call, predictions, targets, apply_softmax):
    """Give predictions and targets a class axis, check their shapes and turn
    the predictions into probabilities.

    Returns the probabilities and targets in the compute dtype, and the
    dtype of the result.
    """
    predictions = jnp.asarray(predictions)
    targets = jnp.asarray(targets)
    if predictions.ndim == targets.ndim - 1:
        predictions = predictions[..., None]
    if targets.ndim == predictions.ndim - 1:
        targets = targets[..., None]
    checks.check_same_shape(call, ("predictions", predictions), ("targets", targets))

    result_dtype = checks.output_dtype(predictions.dtype)
    dtype = checks.compute_dtype(predictions.dtype)
    probabilities = predictions.astype(dtype)
    if apply_softmax:
        if probabilities.shape[-1] == 1:
            probabilities = jax.nn.sigmoid(probabilities)
        else:
            probabilities = jax.nn.softmax(probabilities, axis=-1)
    return probabilities, targets.astype(dtype), result_dtype


def _per_class(value, dtype, ndim):
    """Return a scalar or per-class hyperparameter shaped to broadcast against
    an array of ``ndim`` dimensions whose last axis is the class axis."""
    value = checks.scalar_as(value, dtype)
    if value.ndim == 1 and ndim > 1:
        value = value.reshape((1,) * (ndim - 1) + value.shape)
    return value


def _check_reduction(call, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{call}(reduction={reduction!r}) is not supported; use one of "
            f"{', '.join(repr(name) for name in _REDUCTIONS)}."
        )


def _overlap_loss(
    call,
    predictions,
    targets,
    *,
    class_weights,
    smooth,
    alpha,
    beta,
    apply_softmax,
    reduction,
    ignore_background,
    axis,
):
    """Return 1 - (I + smooth) / (I + alpha FP + beta FN + smooth) per class,
    weighted, without class 0 if ``ignore_background``, reduced over classes."""
    _check_reduction(call, reduction)
    probabilities, targets, result_dtype = _prepare(
        call, predictions, targets, apply_softmax
    )
    dtype = probabilities.dtype
    if axis is None:
        axis = tuple(range(1, probabilities.ndim - 1))

    intersection = jnp.sum(probabilities * targets, axis=axis)
    predicted = jnp.sum(probabilities, axis=axis)
    actual = jnp.sum(targets, axis=axis)
    ndim = intersection.ndim
    smooth = _per_class(smooth, dtype, ndim)
    false_positives = predicted - intersection
    false_negatives = actual - intersection
    denominator = (
        intersection
        + _per_class(alpha, dtype, ndim) * false_positives
        + _per_class(beta, dtype, ndim) * false_negatives
        + smooth
    )
    loss = 1 - (intersection + smooth) / denominator

    if class_weights is not None:
        classes = probabilities.shape[-1]
        if np.shape(class_weights) not in ((classes,), (1,)):
            raise ValueError(
                f"{call}: class_weights has shape {np.shape(class_weights)} but "
                f"predictions have {classes} classes on their last axis; pass one "
                f"weight per class, shape ({classes},)."
            )
        loss = loss * _per_class(class_weights, dtype, ndim)
    if ignore_background and probabilities.shape[-1] > 1:
        loss = loss[..., 1:]

    if reduction == "mean":
        loss = jnp.mean(loss, axis=-1)
    elif reduction == "sum":
        loss = jnp.sum(loss, axis=-1)
    return loss.astype(result_dtype)


def dice_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    class_weights: jax.typing.ArrayLike | None = None,
    smooth: jax.typing.ArrayLike = 1.0,
    alpha: jax.typing.ArrayLike = 0.5,
    beta: jax.typing.ArrayLike = 0.5,
    apply_softmax: bool = True,
    reduction: str = "mean",
    ignore_background: bool = False,
    axis: int | tuple[int, ...] | None = None,
) -> jax.Array:
    r"""Compute the soft Dice loss, or its Tversky generalisation, per class.

    For class ``c``, with predicted probabilities ``p`` and targets ``t``
    summed over the spatial axes,

    .. math::
        \mathrm{loss}_c = 1 - \frac{I_c + s}
            {I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s},
        \quad I_c = \sum p_c t_c,\; P_c = \sum p_c,\; T_c = \sum t_c.

    ``alpha = beta = 0.5`` gives the Dice loss; ``alpha`` weighs false
    positives and ``beta`` false negatives (the Tversky loss).

    Args:
        predictions: Logits (or probabilities with ``apply_softmax=False``)
            shaped ``[batch, ..., classes]``. A single class, or no class
            axis, means binary segmentation.
        targets: One-hot or soft targets of the same shape; a missing class
            axis on either argument is added.
        class_weights: Optional ``[classes]`` weights multiplying each class's
            loss before the reduction.
        smooth: Added to the numerator and the denominator.
        alpha: Weight of the false positives.
        beta: Weight of the false negatives.
        apply_softmax: Turn logits into probabilities: a softmax over the
            classes, or a sigmoid for a single class.
        reduction: ``"mean"`` or ``"sum"`` over the classes, or ``"none"``
            to keep the class axis.
        ignore_background: Drop class 0 before the reduction.
        axis: The axes to sum over; by default every axis except the first
            (batch) and the last (classes).

    Returns:
        Shape ``[batch]`` for ``"mean"`` and ``"sum"``, ``[batch, classes]``
        for ``"none"``.

    Raises:
        ValueError: If the shapes differ, ``class_weights`` does not have one
            entry per class, or ``reduction`` is unknown.

    Notes:
        optax 0.2.8 checks in Python that probabilities passed with
        ``apply_softmax=False`` sum to 1 over the class axis, so the call
        fails under ``jit`` and ``vmap`` and rejects single-channel
        probability maps. optgrad does not check; pass probabilities.

    References:
        Milletari et al., "V-Net: Fully Convolutional Neural Networks for
        Volumetric Medical Image Segmentation", 3DV 2016.
        https://arxiv.org/abs/1606.04797

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> logits = jnp.zeros((2, 8, 8, 3))
        >>> targets = jnp.zeros((2, 8, 8, 3)).at[..., 0].set(1.0)
        >>> optgrad.losses.dice_loss(logits, targets).shape
        (2,)
    """
    return _overlap_loss(
        "dice_loss",
        predictions,
        targets,
        class_weights=class_weights,
        smooth=smooth,
        alpha=alpha,
        beta=beta,
        apply_softmax=apply_softmax,
        reduction=reduction,
        ignore_background=ignore_background,
        axis=axis,
    )


def jaccard_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    class_weights: jax.typing.ArrayLike | None = None,
    smooth: jax.typing.ArrayLike = 1.0,
    apply_softmax: bool = True,
    reduction: str = "mean",
    ignore_background: bool = False,
    axis: int | tuple[int, ...] | None = None,
) -> jax.Array:
    r"""Compute the soft Jaccard (intersection over union) loss per class.

    .. math::
        \mathrm{loss}_c = 1 - \frac{I_c + s}{P_c + T_c - I_c + s},

    which is ``dice_loss`` with ``alpha = beta = 1``. The arguments, shapes
    and errors are those of ``dice_loss``.

    Args:
        predictions: Logits, or probabilities with ``apply_softmax=False``.
        targets: One-hot or soft targets of the same shape.
        class_weights: Optional ``[classes]`` weights of the per-class losses.
        smooth: Added to the intersection and to the union.
        apply_softmax: Apply a softmax over the classes (a sigmoid for one).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the classes.
        ignore_background: Drop class 0 before the reduction.
        axis: The axes to sum over; by default all but the first and last.

    Returns:
        Shape ``[batch]``, or ``[batch, classes]`` for ``"none"``.

    Raises:
        ValueError: As ``dice_loss``.

    References:
        Rahman and Wang, "Optimizing Intersection-Over-Union in Deep Neural
        Networks for Image Segmentation", ISVC 2016.
    """
    return _overlap_loss(
        "jaccard_loss",
        predictions,
        targets,
        class_weights=class_weights,
        smooth=smooth,
        alpha=1.0,
        beta=1.0,
        apply_softmax=apply_softmax,
        reduction=reduction,
        ignore_background=ignore_background,
        axis=axis,
    )


def multiclass_generalized_dice_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    smooth: jax.typing.ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
) -> jax.Array:
    """Compute the Dice loss with classes weighted by inverse squared frequency.

    Each class gets the weight ``1 / (n_c**2 + 1e-7)``, where ``n_c`` is the
    sum of its targets over the whole batch, and the weights are scaled to
    average 1. The result is the mean of the weighted per-class Dice losses
    over the batch and the classes.

    Args:
        predictions: Logits (or probabilities) shaped ``[batch, ..., classes]``.
        targets: One-hot targets of the same shape.
        smooth: Added to the numerator and the denominator.
        apply_softmax: Apply a softmax over the classes (a sigmoid for one).
        ignore_background: Drop class 0 before the mean.

    Returns:
        A scalar: the weights couple the examples of the batch, so there is
        no per-example value.

    Raises:
        ValueError: If the shapes differ.

    References:
        Sudre et al., "Generalised Dice overlap as a deep learning loss
        function for highly unbalanced segmentations", DLMIA 2017.
        https://arxiv.org/abs/1707.03237
    """
    call = "multiclass_generalized_dice_loss"
    checks.check_same_shape(call, ("predictions", predictions), ("targets", targets))
    targets = jnp.asarray(targets)
    dtype = checks.compute_dtype(jnp.result_type(predictions))
    frequencies = jnp.sum(targets.astype(dtype), axis=tuple(range(targets.ndim - 1)))
    weights = 1 / (frequencies**2 + checks.scalar_as(1e-7, dtype))
    weights = weights / jnp.sum(weights) * weights.shape[0]
    loss = _overlap_loss(
        call,
        predictions,
        targets,
        class_weights=weights,
        smooth=smooth,
        alpha=0.5,
        beta=0.5,
        apply_softmax=apply_softmax,
        reduction="none",
        ignore_background=ignore_background,
        axis=None,
    )
    return jnp.mean(loss)


def binary_dice_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    smooth: jax.typing.ArrayLike = 1.0,
    apply_sigmoid: bool = True,
) -> jax.Array:
    """Compute the Dice loss of binary masks.

    Args:
        predictions: Logits (or probabilities with ``apply_sigmoid=False``)
            shaped ``[batch, ...]`` or ``[batch, ..., 1]``.
        targets: Binary targets of the same shape.
        smooth: Added to the numerator and the denominator.
        apply_sigmoid: Apply a sigmoid to the predictions.

    Returns:
        Shape ``[batch]``.

    Raises:
        ValueError: If the shapes differ.

    Notes:
        optax 0.2.8 rejects probability maps here (``apply_sigmoid=False``)
        unless every probability is 1, and fails under ``jit``; see
        ``dice_loss``.
    """
    predictions = jnp.asarray(predictions)
    targets = jnp.asarray(targets)
    if predictions.ndim == targets.ndim and predictions.shape[-1:] != (1,):
        predictions = predictions[..., None]
        targets = targets[..., None]
    return _overlap_loss(
        "binary_dice_loss",
        predictions,
        targets,
        class_weights=None,
        smooth=smooth,
        alpha=0.5,
        beta=0.5,
        apply_softmax=apply_sigmoid,
        reduction="mean",
        ignore_background=False,
        axis=None,
    )
