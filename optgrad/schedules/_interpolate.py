"""Piecewise interpolated schedules and the one-cycle policies built on them."""

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from optgrad import _validate
from optgrad._typing import Schedule
from optgrad.schedules._common import (
    as_step,
    as_value,
    check_boundaries_and_scales,
    check_range,
    check_step_count,
    check_value,
    value_dtype,
)

_INTERPOLATE_TYPES = ("linear", "cosine")


def _interpolate_linear(start, end, fraction):
    return (end - start) * fraction + start


def _interpolate_cosine(start, end, fraction):
    return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * fraction) + 1)


def _piecewise(
    interpolate_type: str,
    init_value: Any,
    knots: Sequence[int],
    scales: Sequence[Any],
    dtype: Any,
) -> Schedule:
    """Interpolate between cumulative products of ``scales``, knot to knot.

    ``knots`` start at 0 and never decrease; ``scales[i]`` takes the value
    from the one at ``knots[i]`` to the one at ``knots[i + 1]``. A segment of
    length 0 is a jump, so no step is ever divided by zero.
    """
    interpolate = (
        _interpolate_linear if interpolate_type == "linear" else _interpolate_cosine
    )

    def schedule(count):
        step = as_step(count, dtype)
        values = [as_value(init_value, dtype)]
        for scale in scales:
            values.append(values[-1] * as_value(scale, dtype))
        value = jnp.broadcast_to(values[-1], step.shape)
        # From the last segment to the first, so that the segment that
        # contains the step is the last one written.
        for index in reversed(range(len(scales))):
            start, end = knots[index], knots[index + 1]
            if end == start:
                continue
            fraction = (step - start) / (end - start)
            segment = interpolate(values[index], values[index + 1], fraction)
            value = jnp.where(step < end, segment, value)
        return value

    return schedule


def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: dict[int, float] | None = None,
) -> Schedule:
    """Build a schedule that interpolates between scaled values at boundaries.

    The value at boundary ``b`` is ``init_value`` times every scale whose
    boundary is ``<= b``. Between step 0 and the first boundary, and between
    consecutive boundaries, the value moves from one of these values to the
    next along a line or half a cosine wave. After the last boundary it
    stays at the last value.

    Args:
        interpolate_type: ``"linear"`` or ``"cosine"``.
        init_value: The value at step 0.
        boundaries_and_scales: A dict from a step (an integer >= 0) to a
            factor (>= 0). The factors accumulate: ``{10: 0.1, 20: 0.1}``
            reaches ``0.01 * init_value`` at step 20. A boundary at 0 makes
            the schedule start at ``init_value`` times its scale.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: ``interpolate_type`` is unknown, a boundary is negative,
            or a scale is negative or not finite.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.piecewise_interpolate_schedule(
        ...     "linear", 1.0, {4: 0.5, 8: 0.5}
        ... )
        >>> [float(schedule(step)) for step in (0, 2, 4, 6, 8, 10)]
        [1.0, 0.75, 0.5, 0.375, 0.25, 0.25]
    """
    call = "piecewise_interpolate_schedule"
    if interpolate_type not in _INTERPOLATE_TYPES:
        raise ValueError(
            f"{call}(interpolate_type={interpolate_type!r}) is unknown; use "
            "'linear' or 'cosine'."
        )
    check_value(call, "init_value", init_value)
    boundaries, scales = check_boundaries_and_scales(call, boundaries_and_scales)
    dtype = value_dtype(init_value, *scales)
    return _piecewise(interpolate_type, init_value, [0, *boundaries], scales, dtype)


def _check_fraction(call: str, name: str, value: Any) -> float:
    """Check a fraction of the cycle, which must be a known number in [0, 1]."""
    check_range(call, name, value, 0.0, 1.0)
    number = _validate.concrete_scalar(value)
    if number is None:
        raise TypeError(
            f"{call}({name}=...) must be a concrete number, because it decides "
            "at which steps the phases change; got a traced value."
        )
    return number


def _check_onecycle(
    call: str,
    transition_steps: Any,
    peak_value: Any,
    pct_start: Any,
    div_factor: Any,
    final_div_factor: Any,
) -> tuple[int, float]:
    """Check the arguments of both one-cycle policies; return two of them as numbers."""
    transition_steps = check_step_count(call, "transition_steps", transition_steps, 1)
    check_value(call, "peak_value", peak_value)
    start = _check_fraction(call, "pct_start", pct_start)
    check_range(call, "div_factor", div_factor, low=0.0, low_open=True)
    check_range(call, "final_div_factor", final_div_factor, low=0.0, low_open=True)
    return transition_steps, start


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: jax.typing.ArrayLike,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """Build the one-cycle policy with three linear phases.

    With ``T = transition_steps`` and ``low = peak_value / div_factor``: the
    value rises from ``low`` at step 0 to ``peak_value`` at step
    ``int(pct_start * T)``, falls back to ``low`` at step
    ``int(pct_final * T)``, then falls to ``low / final_div_factor`` at step
    ``T`` and stays there.

    Args:
        transition_steps: The length of the cycle, >= 1.
        peak_value: The largest value, reached at the end of the first phase.
        pct_start: The fraction of the cycle spent rising, in [0, 1].
        pct_final: The fraction of the cycle at which the second phase ends,
            in [``pct_start``, 1].
        div_factor: ``peak_value / div_factor`` is the starting value; > 0.
        final_div_factor: The starting value divided by this is the final
            value; > 0.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: ``transition_steps`` < 1, a fraction is outside [0, 1]
            or ``pct_final < pct_start``, or a factor is not > 0.

    Notes:
        optax 0.2.8 builds the phases from a dict keyed by their first
        step, so phases that start at the same step (``pct_final=1``, or a
        cycle a few steps long) overwrite each other and the schedule skips
        a value. Here such a phase has length 0 and every value is reached.

    References:
        Smith and Topin, "Super-Convergence: Very Fast Training of Neural
        Networks Using Large Learning Rates", 2017,
        https://arxiv.org/abs/1708.07120
    """
    call = "linear_onecycle_schedule"
    transition_steps, start = _check_onecycle(
        call, transition_steps, peak_value, pct_start, div_factor, final_div_factor
    )
    final = _check_fraction(call, "pct_final", pct_final)
    if final < start:
        raise ValueError(
            f"{call}(pct_final={final!r}) is below pct_start={start!r}; the "
            "falling phase must end after the rising phase."
        )
    knots = [0, int(start * transition_steps), int(final * transition_steps)]
    knots.append(transition_steps)
    scales = [div_factor, 1.0 / div_factor, 1.0 / final_div_factor]
    dtype = value_dtype(peak_value, div_factor, final_div_factor)
    return _piecewise("linear", peak_value / div_factor, knots, scales, dtype)


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: jax.typing.ArrayLike,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    """Build the one-cycle policy with a cosine rise and a cosine fall.

    With ``T = transition_steps`` and ``low = peak_value / div_factor``: the
    value rises from ``low`` at step 0 to ``peak_value`` at step
    ``int(pct_start * T)`` along half a cosine wave, then falls the same way
    to ``low / final_div_factor`` at step ``T`` and stays there.

    Args:
        transition_steps: The length of the cycle, >= 1.
        peak_value: The largest value, reached at the end of the rise.
        pct_start: The fraction of the cycle spent rising, in [0, 1].
        div_factor: ``peak_value / div_factor`` is the starting value; > 0.
        final_div_factor: The starting value divided by this is the final
            value; > 0.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: ``transition_steps`` < 1, ``pct_start`` is outside
            [0, 1], or a factor is not > 0.

    Notes:
        With ``pct_start=1`` optax 0.2.8 overwrites the peak with the final
        value (both phases start at step ``T`` in its dict), so it never
        reaches ``peak_value``. Here the fall has length 0 instead.

    References:
        Smith and Topin, "Super-Convergence: Very Fast Training of Neural
        Networks Using Large Learning Rates", 2017,
        https://arxiv.org/abs/1708.07120

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.cosine_onecycle_schedule(10, 1.0, pct_start=0.2)
        >>> [round(float(schedule(step)), 4) for step in (0, 1, 2, 6, 10)]
        [0.04, 0.52, 1.0, 0.5, 0.0]
    """
    call = "cosine_onecycle_schedule"
    transition_steps, start = _check_onecycle(
        call, transition_steps, peak_value, pct_start, div_factor, final_div_factor
    )
    knots = [0, int(start * transition_steps), transition_steps]
    scales = [div_factor, 1.0 / (div_factor * final_div_factor)]
    dtype = value_dtype(peak_value, div_factor, final_div_factor)
    return _piecewise("cosine", peak_value / div_factor, knots, scales, dtype)
