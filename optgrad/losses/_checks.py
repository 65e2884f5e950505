"""Input checks and dtype rules shared by the loss functions.

Every check runs in Python while a loss is traced, so it costs nothing in
the compiled computation. The arithmetic helpers keep the losses correct
under ``jax_numpy_dtype_promotion="strict"`` and
``jax_numpy_rank_promotion="raise"``: dtypes are mixed only through
explicit casts, and arrays of different rank only through explicit
broadcasts.
"""

import math
import operator
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Axis = int | tuple[int, ...] | None


def float_array(call: str, name: str, value: Any) -> jax.Array:
    """Return ``value`` as an array; raise ``TypeError`` unless it is floating."""
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.floating):
        raise TypeError(
            f"{call}: {name} must be a floating-point array, got dtype "
            f"{array.dtype}. Cast it first, for example with "
            f"{name}.astype(jnp.float32)."
        )
    return array


def integer_array(call: str, name: str, value: Any) -> jax.Array:
    """Return ``value`` as an array; raise ``TypeError`` unless its dtype is integer."""
    array = jnp.asarray(value)
    if not jnp.issubdtype(array.dtype, jnp.integer):
        raise TypeError(
            f"{call}: {name} must be an integer array of class indices, got "
            f"dtype {array.dtype}. Pass integer labels, for example "
            f"{name}.astype(jnp.int32), or use the one-hot variant of this loss."
        )
    return array


def compute_dtype(dtype: Any) -> np.dtype:
    """Return the dtype to compute in: float32 for 16-bit floats, else ``dtype``."""
    dtype = np.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize < 4:
        return np.dtype(jnp.float32)
    return dtype


def result_dtype(*dtypes: Any) -> np.dtype:
    """Return JAX's standard promotion of ``dtypes``, in any promotion mode."""
    with jax.numpy_dtype_promotion("standard"):
        return np.dtype(jnp.result_type(*dtypes))


def labels_like(call: str, name: str, value: Any, dtype: Any) -> jax.Array:
    """Return labels or targets as an array of ``dtype``.

    Integer and boolean labels are cast to ``dtype``. Floating-point labels
    get their own dtype promoted with ``dtype``, as in JAX's standard
    promotion.
    """
    array = jnp.asarray(value)
    if jnp.issubdtype(array.dtype, jnp.complexfloating):
        raise TypeError(f"{call}: {name} must be real, got dtype {array.dtype}.")
    if jnp.issubdtype(array.dtype, jnp.floating):
        return array.astype(result_dtype(array.dtype, dtype))
    return array.astype(dtype)


def check_same_shape(call: str, name_a: str, a: jax.Array, name_b: str, b: jax.Array):
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{call}: {name_a} and {name_b} must have the same shape, got "
            f"{name_a} {a.shape} and {name_b} {b.shape}."
        )


def broadcast_to_shape(
    call: str,
    name: str,
    array: jax.Array,
    reference_name: str,
    shape: Sequence[int],
) -> jax.Array:
    """Broadcast ``array`` to ``shape``; raise ``ValueError`` if it does not fit.

    Broadcasting is allowed only when the result has exactly ``shape``, so a
    ``[batch]`` array against ``[batch, 1]`` predictions is an error instead
    of a silent ``[batch, batch]`` result.
    """
    shape = tuple(shape)
    if array.shape == shape:
        return array
    try:
        joint = np.broadcast_shapes(array.shape, shape)
    except ValueError:
        joint = None
    if joint != shape:
        raise ValueError(
            f"{call}: the shape {array.shape} of {name} does not match the "
            f"shape {shape} of {reference_name}. Pass {name} with shape {shape}, "
            f"or with a shape that broadcasts to it without changing it."
        )
    return jnp.broadcast_to(array, shape)


def normalize_axes(call: str, axis: Axis, ndim: int) -> tuple[int, ...]:
    """Return ``axis`` as a sorted tuple of non-negative axes (``None``: all)."""
    if axis is None:
        return tuple(range(ndim))
    raw = axis if isinstance(axis, tuple | list) else (axis,)
    axes = []
    for item in raw:
        try:
            index = operator.index(item)
        except TypeError:
            raise TypeError(
                f"{call}: axis must be an int, a tuple of ints or None, got {axis!r}."
            ) from None
        if not -ndim <= index < ndim:
            raise ValueError(
                f"{call}: axis {index} is out of range for an input with "
                f"{ndim} dimensions."
            )
        axes.append(index % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{call}: axis {axis!r} repeats an axis.")
    return tuple(sorted(axes))


def check_class_labels(
    call: str,
    labels: jax.Array,
    scores_name: str,
    scores_shape: Sequence[int],
    axes: tuple[int, ...],
) -> int:
    """Check integer labels against scores with class axes ``axes``.

    Returns:
        The number of classes: the product of the sizes of ``axes``.

    Raises:
        ValueError: If ``axes`` is empty, the labels do not have the scores'
            shape without ``axes``, or there are no classes.
    """
    scores_shape = tuple(scores_shape)
    if not axes:
        raise ValueError(
            f"{call}: {scores_name} must have a class axis, got shape "
            f"{scores_shape}. Pass {scores_name} of shape [..., num_classes]."
        )
    expected = drop_axes(scores_shape, axes)
    if labels.shape != expected:
        raise ValueError(
            f"{call}: labels of shape {labels.shape} do not match {scores_name} "
            f"of shape {scores_shape} with class axes {axes}. Pass labels of "
            f"shape {expected}, one class index per example."
        )
    return count_classes(call, scores_name, scores_shape, axes)


def count_classes(
    call: str, scores_name: str, scores_shape: Sequence[int], axes: tuple[int, ...]
) -> int:
    """Return the number of classes over ``axes``, raising ``ValueError`` for 0."""
    scores_shape = tuple(scores_shape)
    num_classes = math.prod(scores_shape[i] for i in axes)
    if num_classes == 0:
        raise ValueError(
            f"{call}: {scores_name} of shape {scores_shape} has 0 classes. "
            "Pass scores for at least one class."
        )
    return num_classes


def drop_axes(shape: Sequence[int], axes: tuple[int, ...]) -> tuple[int, ...]:
    """Return ``shape`` without the dimensions in ``axes``."""
    return tuple(size for i, size in enumerate(shape) if i not in axes)


def mask_array(
    call: str,
    where: Any,
    shape: Sequence[int],
    axes: tuple[int, ...],
) -> jax.Array | None:
    """Return a boolean ``where`` mask broadcast to ``shape``, or ``None``.

    The mask has either the input's shape (or one that broadcasts to it) or
    the shape of the result, that is ``shape`` without ``axes``. In the
    second case it selects whole examples and is expanded over ``axes``.
    """
    if where is None:
        return None
    mask = jnp.asarray(where)
    if mask.dtype != jnp.bool_:
        raise TypeError(
            f"{call}: where must be a boolean array, got dtype {mask.dtype}. "
            "Pass a comparison such as where=(mask != 0)."
        )
    shape = tuple(shape)
    if mask.ndim != len(shape):
        reduced = drop_axes(shape, axes)
        if mask.shape != reduced:
            raise ValueError(
                f"{call}: where of shape {mask.shape} matches neither the input "
                f"shape {shape} nor the per-example shape {reduced}."
            )
        mask = jnp.expand_dims(mask, axes)
    return broadcast_to_shape(call, "where", mask, "the input", shape)
