"""Scalar helpers that are safe at the edges of their domain."""

from typing import Any

import jax
import jax.numpy as jnp

from optgrad.tree import _math


def safe_increment(count: jax.typing.ArrayLike) -> jax.Array:
    """Add one to an integer counter, saturating at its dtype's maximum.

    Floating-point counters saturate at the largest finite value.
    """
    count = jnp.asarray(count)
    dtype = count.dtype
    if jnp.issubdtype(dtype, jnp.integer):
        top = jnp.iinfo(dtype).max
    else:
        top = jnp.finfo(dtype).max
    return jnp.where(count < top, count + jnp.ones((), dtype), count)


def safe_int32_increment(count: jax.typing.ArrayLike) -> jax.Array:
    """Add one to an int32 counter, saturating at the int32 maximum."""
    count = jnp.asarray(count)
    if count.dtype != jnp.int32:
        raise TypeError(
            f"safe_int32_increment(count=...) needs an int32 array, got {count.dtype}."
        )
    return safe_increment(count)


def global_norm(updates: Any) -> jax.Array:
    """Return the 2-norm of all leaves taken together (see ``optgrad.tree.norm``)."""
    return _math.norm(updates)


def safe_norm(
    x: jax.typing.ArrayLike,
    min_norm: jax.typing.ArrayLike,
    ord: int | float | str | None = None,
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
) -> jax.Array:
    """Return ``max(norm(x), min_norm)`` with a finite gradient at ``x = 0``.

    A plain ``jnp.maximum(jnp.linalg.norm(x), min_norm)`` has a NaN gradient
    at zero because the norm's gradient is evaluated there. Here the norm is
    taken of a substitute value whenever it would fall below ``min_norm``.

    Args:
        x: An array.
        min_norm: The smallest value returned.
        ord: As in ``jnp.linalg.norm``.
        axis: As in ``jnp.linalg.norm``.
        keepdims: As in ``jnp.linalg.norm``.

    Returns:
        The clamped norm.
    """
    x = jnp.asarray(x)
    norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    small = norm <= min_norm
    substitute = jnp.where(small, jnp.ones_like(x), x)
    safe = jnp.linalg.norm(substitute, ord=ord, axis=axis, keepdims=keepdims)
    if not keepdims:
        small = jnp.squeeze(small, axis=axis)
    return jnp.where(small, jnp.asarray(min_norm, safe.dtype), safe)


def safe_root_mean_squares(
    x: jax.typing.ArrayLike, min_rms: jax.typing.ArrayLike
) -> jax.Array:
    """Return ``max(sqrt(mean(|x|**2)), min_rms)`` with a finite gradient at 0."""
    x = jnp.asarray(x)
    rms = jnp.sqrt(jnp.mean(_math.abs_sq(x)))
    small = rms <= min_rms
    substitute = jnp.where(small, jnp.ones_like(x), x)
    safe = jnp.sqrt(jnp.mean(_math.abs_sq(substitute)))
    return jnp.where(small, jnp.asarray(min_rms, safe.dtype), safe)
