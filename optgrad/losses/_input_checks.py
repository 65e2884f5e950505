"""Trace-time checks and dtype rules shared by the segmentation, detection and
sequence losses.

Shapes are static under ``jit``, so every check here raises before any
computation is traced.
"""

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def compute_dtype(dtype: Any) -> Any:
    """Return the dtype a loss computes in: float32 for 16-bit floats and for
    integers and booleans, the dtype itself otherwise."""
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating) or dtype.itemsize < 4:
        return jnp.dtype(jnp.float32)
    return dtype


def output_dtype(dtype: Any) -> Any:
    """Return the dtype a loss returns for inputs of ``dtype``: the input's
    own floating dtype, or float32 for integer and boolean inputs."""
    dtype = jnp.dtype(dtype)
    if jnp.issubdtype(dtype, jnp.floating):
        return dtype
    return jnp.dtype(jnp.float32)


def check_same_shape(call: str, first: tuple[str, Any], second: tuple[str, Any]):
    """Raise ``ValueError`` unless two named arrays have the same shape."""
    (first_name, first_value), (second_name, second_value) = first, second
    first_shape, second_shape = np.shape(first_value), np.shape(second_value)
    if first_shape != second_shape:
        raise ValueError(
            f"{call}: {first_name} has shape {first_shape} but {second_name} has "
            f"shape {second_shape}; they must have the same shape."
        )


def check_rank(call: str, name: str, value: Any, rank: int, layout: str):
    """Raise ``ValueError`` unless ``value`` has ``rank`` dimensions."""
    shape = np.shape(value)
    if len(shape) != rank:
        raise ValueError(
            f"{call}: {name} must have {rank} dimensions {layout}, got shape {shape}."
        )


def check_fraction(call: str, name: str, value: Any):
    """Raise ``ValueError`` if a known scalar ``value`` is outside [0, 1].

    Traced values cannot be checked and pass through.
    """
    try:
        number = float(value)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise ValueError(
            f"{call}({name}={number!r}) is out of range: {name} must be in [0, 1]."
        )


def scalar_as(value: Any, dtype: Any) -> jax.Array:
    """Return a hyperparameter as an array of ``dtype``."""
    return jnp.asarray(value).astype(dtype)
