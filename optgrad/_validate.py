"""Construction-time checks of hyperparameters.

Values that are traced (inside ``inject_hyperparams`` under ``jit``) or
schedules cannot be checked when the optimizer is built; they are skipped.
"""

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def concrete_scalar(value: Any) -> float | None:
    """Return ``value`` as a float if it is a known scalar, else ``None``."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, np.ndarray | np.generic | jax.Array):
        if np.ndim(value) != 0:
            return None
        try:
            return float(np.real(np.asarray(value)))
        except (
            jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError,
        ):
            return None
    return None


def _format_value(value: Any) -> str:
    """Format a hyperparameter for a message as the user wrote it.

    A float32 array holding 1.2 prints as ``1.2``, not as the double
    ``1.2000000476837158`` that converting it to a Python float gives.
    """
    if isinstance(value, np.ndarray | np.generic | jax.Array) and np.ndim(value) == 0:
        array = np.asarray(value)
        # NumPy prints bfloat16 1.0 as "1" but float32 1.0 as "1.0", and
        # float32 represents every 16-bit float exactly.
        if jnp.issubdtype(array.dtype, jnp.floating) and array.dtype.itemsize < 4:
            array = array.astype(np.float32)
        return str(array)
    return repr(value)


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float | np.ndarray | np.generic | jax.Array)


def _fmt_range(
    low: float | None, high: float | None, low_open: bool, high_open: bool
) -> str:
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"{'<' if high_open else '<='} {high:g}"


def check_range(
    call: str,
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise ``ValueError`` if a known scalar ``value`` is outside the range.

    Args:
        call: The factory name, such as ``"adam"``.
        name: The argument name, such as ``"b1"``.
        value: The value the user passed.
        low: Lower bound, or ``None`` for none.
        high: Upper bound, or ``None`` for none.
        low_open: Exclude ``low`` itself.
        high_open: Exclude ``high`` itself.

    Raises:
        TypeError: For a value that is neither a number nor a callable,
            ``None`` included. Callers of an optional argument skip ``None``
            themselves.
        ValueError: For a known number outside the range.
    """
    if not callable(value) and not _is_numeric(value):
        raise TypeError(
            f"{call}({name}=...) must be a number, got "
            f"{type(value).__name__} {value!r}."
        )
    number = concrete_scalar(value)
    if number is None:
        return
    inside = not math.isnan(number)
    if inside and low is not None:
        inside = number > low if low_open else number >= low
    if inside and high is not None:
        inside = number < high if high_open else number <= high
    if not inside:
        raise ValueError(
            f"{call}({name}={_format_value(value)}) is out of range: {name} must be "
            f"{_fmt_range(low, high, low_open, high_open)}."
        )


def check_decay(call: str, name: str, value: Any) -> None:
    """Check a moving-average decay rate such as ``b1``: it must be in [0, 1)."""
    check_range(call, name, value, 0.0, 1.0, high_open=True)


def check_non_negative(call: str, name: str, value: Any) -> None:
    """Check that a known ``value`` is >= 0 (``eps``, ``weight_decay``, ...)."""
    check_range(call, name, value, low=0.0)


def check_positive(call: str, name: str, value: Any) -> None:
    """Check that a known ``value`` is > 0."""
    check_range(call, name, value, low=0.0, low_open=True)


def check_scalar_or_schedule(call: str, name: str, value: Any) -> None:
    """Check a learning-rate-like argument: a finite number or a callable."""
    if callable(value):
        return
    if not _is_numeric(value):
        raise TypeError(
            f"{call}({name}=...) must be a number or a schedule (a function of "
            f"the step count), got {type(value).__name__} {value!r}."
        )
    if np.ndim(value) != 0:
        raise ValueError(
            f"{call}({name}=...) must be a scalar, got an array of shape "
            f"{np.shape(value)}."
        )
    number = concrete_scalar(value)
    if number is not None and not math.isfinite(number):
        raise ValueError(f"{call}({name}={_format_value(value)}) must be finite.")


def check_positive_int(call: str, name: str, value: Any, minimum: int = 1) -> None:
    """Check that ``value`` is a Python integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{call}({name}=...) must be an integer, got {type(value).__name__} "
            f"{value!r}."
        )
    if value < minimum:
        raise ValueError(f"{call}({name}={_format_value(value)}) must be >= {minimum}.")


def check_dtype(call: str, name: str, value: Any) -> None:
    """Check that ``value`` is ``None`` or names a floating-point dtype."""
    if value is None:
        return
    try:
        dtype = jnp.dtype(value)
    except TypeError as error:
        raise TypeError(f"{call}({name}={value!r}) is not a dtype.") from error
    # jnp.issubdtype, unlike NumPy's, counts bfloat16 as a floating type.
    if not jnp.issubdtype(dtype, jnp.inexact):
        raise TypeError(
            f"{call}({name}={value!r}) must be a floating-point or complex dtype."
        )


def check_whole_number(call: str, name: str, value: Any, minimum: int = 0) -> None:
    """Check that a known ``value`` is a whole number >= ``minimum``.

    Unlike ``check_positive_int`` this accepts whole floats and concrete
    arrays, as hyperparameters typed as arrays may be, and skips traced ones.
    """
    if isinstance(value, bool) or not _is_numeric(value):
        raise TypeError(
            f"{call}({name}=...) must be a whole number, got "
            f"{type(value).__name__} {value!r}."
        )
    number = concrete_scalar(value)
    if number is None:
        return
    if not (math.isfinite(number) and number == int(number) and number >= minimum):
        raise ValueError(
            f"{call}({name}={_format_value(value)}) must be a whole number "
            f">= {minimum}."
        )
