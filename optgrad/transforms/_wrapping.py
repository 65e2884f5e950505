"""Helpers shared by the transformations that wrap another transformation."""

import functools
from typing import Any

import jax
import jax.numpy as jnp

from optgrad._base import GradientTransformation


def check_transformation(call: str, name: str, value: Any) -> None:
    """Raise ``TypeError`` unless ``value`` is a gradient transformation."""
    if not isinstance(value, GradientTransformation):
        hint = ""
        if callable(value):
            hint = " Call the factory first: optgrad.adam(1e-3), not optgrad.adam."
        raise TypeError(
            f"{call}({name}=...) must be a gradient transformation, got "
            f"{type(value).__name__}.{hint}"
        )


def zeros_like_output(
    inner: GradientTransformation,
    updates: Any,
    state: Any,
    params: Any,
    extra_args: dict[str, Any],
) -> Any:
    """Return zeros shaped like the updates that ``inner.update`` would return.

    The shapes come from ``jax.eval_shape``, so nothing runs, and the zeros
    can stand in for the inner output in the other branch of a ``lax.cond``.
    """

    def inner_updates(updates, state, params):
        return inner.update(updates, state, params, **extra_args)[0]

    shapes = jax.eval_shape(inner_updates, updates, state, params)
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def all_finite(tree: Any) -> jax.Array:
    """Return a boolean scalar: whether every element of every leaf is finite."""
    flags = [jnp.all(jnp.isfinite(jnp.asarray(x))) for x in jax.tree.leaves(tree)]
    return functools.reduce(jnp.logical_and, flags, jnp.asarray(True))


def count_not_finite(tree: Any) -> jax.Array:
    """Return the number of NaN and infinite elements over all leaves (int32)."""
    counts = [
        jnp.sum(~jnp.isfinite(jnp.asarray(x)), dtype=jnp.int32)
        for x in jax.tree.leaves(tree)
    ]
    return functools.reduce(jnp.add, counts, jnp.zeros([], jnp.int32))


def as_condition(call: str, value: Any) -> jax.Array:
    """Return ``value`` as a boolean scalar, or raise ``ValueError`` naming its shape.

    Args:
        call: The function that produced ``value``, for the message.
        value: A boolean or numeric scalar, where non-zero counts as ``True``.
    """
    value = jnp.asarray(value)
    if value.shape != ():
        raise ValueError(
            f"{call} must return a scalar condition, got an array of shape "
            f"{value.shape} and dtype {value.dtype}. Reduce it to one boolean, "
            "for example with jnp.all or jnp.any."
        )
    if value.dtype == jnp.bool_:
        return value
    return value != jnp.zeros([], value.dtype)
