"""Argument checks and step handling shared by the schedules.

Every schedule validates its arguments when it is built, so a bad setting
raises ``ValueError`` or ``TypeError`` there, and never turns into NaN at
some later step inside a jitted training loop. Values that are traced (a
schedule built inside ``jax.jit``) cannot be checked and are skipped.
"""

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optgrad import _validate
from optgrad.tree import promote


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, int | float | np.ndarray | np.generic | jax.Array)


def check_value(call: str, name: str, value: Any, *, allow_inf: bool = False) -> None:
    """Check that ``value`` is a real scalar, finite unless ``allow_inf``.

    Raises:
        TypeError: ``value`` is not a number (a schedule, a string, a bool).
        ValueError: ``value`` is not a scalar, is NaN, or is infinite.
    """
    if callable(value):
        raise TypeError(
            f"{call}({name}=...) must be a number, got the function {value!r}. "
            "To chain schedules, use optgrad.join_schedules."
        )
    if not _is_number(value):
        raise TypeError(
            f"{call}({name}=...) must be a number, got {type(value).__name__} "
            f"{value!r}."
        )
    if np.ndim(value) != 0:
        raise ValueError(
            f"{call}({name}=...) must be a scalar, got an array of shape "
            f"{np.shape(value)}."
        )
    if np.iscomplexobj(value):
        raise TypeError(f"{call}({name}={value!r}) must be a real number.")
    number = _validate.concrete_scalar(value)
    if number is None:
        return
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"{call}({name}={number!r}) must be finite.")


def check_range(
    call: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> None:
    """Check that ``value`` is a finite scalar in the range, when it is known."""
    check_value(call, name, value)
    _validate.check_range(call, name, value, low, high, low_open=low_open)


def check_step_count(call: str, name: str, value: Any, minimum: int = 0) -> int:
    """Check a number of steps or a step boundary and return it as an int.

    Python integers, NumPy integers and concrete integer arrays of shape ()
    are accepted. A float such as ``100.0`` is rejected, because a
    fractional boundary is almost always a mistake.

    Raises:
        TypeError: ``value`` is not an integer.
        ValueError: ``value`` is below ``minimum``.
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{call}({name}={value!r}) must be an integer, not a bool.")
    if isinstance(value, np.ndarray | jax.Array) and np.ndim(value) == 0:
        if not jnp.issubdtype(value.dtype, jnp.integer):
            raise TypeError(
                f"{call}({name}=...) must be an integer, got an array of dtype "
                f"{value.dtype}."
            )
        try:
            value = int(value)
        except (
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerIntegerConversionError,
        ) as error:
            raise TypeError(
                f"{call}({name}=...) must be a concrete integer, got a traced "
                "value. Build the schedule outside jax.jit."
            ) from error
    if not isinstance(value, int | np.integer):
        raise TypeError(
            f"{call}({name}=...) must be an integer, got {type(value).__name__} "
            f"{value!r}."
        )
    if value < minimum:
        raise ValueError(f"{call}({name}={value!r}) must be >= {minimum}.")
    return int(value)


def value_dtype(*values: Any) -> Any:
    """Return the dtype a schedule computes and returns its values in.

    float32, unless one of ``values`` is an array of a wider float dtype
    (float64 with ``jax_enable_x64``). Python numbers never widen it.
    """
    dtypes = [
        value.dtype
        for value in values
        if isinstance(value, np.ndarray | np.generic | jax.Array)
        and jnp.issubdtype(value.dtype, jnp.floating)
    ]
    return promote(jnp.float32, *dtypes)


def as_value(value: Any, dtype: Any) -> jax.Array:
    """Return ``value`` as a strongly typed array of ``dtype``."""
    return jnp.asarray(value).astype(dtype)


def as_step(count: Any, dtype: Any) -> jax.Array:
    """Return the step ``count`` in ``dtype``, with negative steps raised to 0.

    Raises:
        TypeError: ``count`` is not a real number (a bool or complex array).
    """
    count = jnp.asarray(count)
    if not (
        jnp.issubdtype(count.dtype, jnp.integer)
        or jnp.issubdtype(count.dtype, jnp.floating)
    ):
        raise TypeError(
            f"A schedule takes an integer step count, got an array of dtype "
            f"{count.dtype}."
        )
    return jnp.maximum(count.astype(dtype), jnp.zeros((), dtype))


def check_boundaries_and_scales(
    call: str, boundaries_and_scales: Any
) -> tuple[list[int], list[Any]]:
    """Check a ``{step: scale}`` dict and return its boundaries and scales, sorted.

    Boundaries are integer steps >= 0. Scales are finite and >= 0, because a
    negative factor would flip the sign of a learning rate.

    Raises:
        TypeError: The argument is not a dict, or an entry is not a number.
        ValueError: A boundary is negative, or a scale is negative or not
            finite.
    """
    if boundaries_and_scales is None:
        return [], []
    if not isinstance(boundaries_and_scales, dict):
        raise TypeError(
            f"{call}(boundaries_and_scales=...) must be a dict from step to scale, "
            f"got {type(boundaries_and_scales).__name__}."
        )
    entries = []
    for boundary, scale in boundaries_and_scales.items():
        label = f"boundaries_and_scales[{boundary!r}]"
        try:
            boundary = check_step_count(call, "boundaries_and_scales", boundary)
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"{call}: the boundary {boundary!r} in boundaries_and_scales is "
                "invalid; boundaries are integer steps >= 0."
            ) from error
        check_value(call, label, scale)
        number = _validate.concrete_scalar(scale)
        if number is not None and number < 0:
            raise ValueError(
                f"{call}({label}={number!r}) is negative; scales must be >= 0."
            )
        entries.append((boundary, scale))
    entries.sort(key=lambda entry: entry[0])
    return [b for b, _ in entries], [s for _, s in entries]
