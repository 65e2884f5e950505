"""Constant, polynomial, piecewise constant and exponential schedules."""

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


def constant_schedule(value: jax.typing.ArrayLike) -> Schedule:
    """Build a schedule that returns ``value`` at every step.

    Args:
        value: A real scalar; ``inf`` is allowed, NaN is not.

    Returns:
        A function of the step that returns ``value`` as a float32 array
        (float64 when ``value`` is a float64 array), shaped like the step.

    Notes:
        optax 0.2.8 returns ``value`` itself, so ``constant_schedule(5)``
        returns the integer 5 there and ``Array(5.0)`` here.

    Examples:
        >>> import optgrad
        >>> optgrad.constant_schedule(0.5)(1000)
        Array(0.5, dtype=float32)
    """
    check_value("constant_schedule", "value", value, allow_inf=True)
    dtype = value_dtype(value)

    def schedule(count):
        step = as_step(count, dtype)
        return jnp.broadcast_to(as_value(value, dtype), step.shape)

    return schedule


def polynomial_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    power: jax.typing.ArrayLike,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    r"""Build a schedule that moves from ``init_value`` to ``end_value`` polynomially.

    With :math:`I` = ``init_value``, :math:`E` = ``end_value``, :math:`p` =
    ``power``, :math:`B` = ``transition_begin`` and :math:`T` =
    ``transition_steps``, the value at step :math:`t` is

    .. math::

        (I - E) \left(1 - \frac{\min(\max(t - B, 0), T)}{T}\right)^p + E.

    It is :math:`I` up to step :math:`B` and :math:`E` from step :math:`B + T`.

    Args:
        init_value: The value before and at ``transition_begin``.
        end_value: The value from ``transition_begin + transition_steps`` on.
        power: The power :math:`p > 0`; 1 is a straight line.
        transition_steps: The length of the transition, >= 0. With 0 the
            value jumps from ``init_value`` to ``end_value`` at
            ``transition_begin``.
        transition_begin: The step at which the transition starts, >= 0.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: A step count is negative, ``power`` is not > 0, or a value
            is not finite.

    Notes:
        optax 0.2.8 returns ``init_value`` at every step when
        ``transition_steps`` is 0 or negative, so there
        ``warmup_constant_schedule`` without warmup steps never reaches its
        peak. It also treats a negative ``transition_begin`` as 0. Here a
        zero-length transition jumps to ``end_value``, and negative step
        counts raise.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.polynomial_schedule(1.0, 0.0, 2, transition_steps=10)
        >>> [round(float(schedule(step)), 4) for step in (0, 5, 10, 20)]
        [1.0, 0.25, 0.0, 0.0]
    """
    return polynomial_transition(
        "polynomial_schedule",
        init_value,
        end_value,
        power,
        transition_steps,
        transition_begin,
    )


def polynomial_transition(
    call: str,
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    power: jax.typing.ArrayLike,
    transition_steps: int,
    transition_begin: int,
    *,
    steps_name: str = "transition_steps",
) -> Schedule:
    """Build ``polynomial_schedule``; errors name ``call`` and ``steps_name``."""
    check_value(call, "init_value", init_value)
    check_value(call, "end_value", end_value)
    check_range(call, "power", power, low=0.0, low_open=True)
    transition_steps = check_step_count(call, steps_name, transition_steps)
    transition_begin = check_step_count(call, "transition_begin", transition_begin)
    dtype = value_dtype(init_value, end_value, power)

    def schedule(count):
        step = as_step(count, dtype)
        init = as_value(init_value, dtype)
        end = as_value(end_value, dtype)
        if transition_steps == 0:
            return jnp.where(step < transition_begin, init, end)
        elapsed = jnp.clip(step - transition_begin, 0, transition_steps)
        # XLA may compute the quotient as a product with 1 / transition_steps,
        # which leaves 1 - remaining slightly below 0 at the end of the
        # transition, and a fractional power of that is NaN.
        remaining = jnp.maximum(1 - elapsed / transition_steps, 0)
        return (init - end) * remaining ** as_value(power, dtype) + end

    return schedule


def linear_schedule(
    init_value: jax.typing.ArrayLike,
    end_value: jax.typing.ArrayLike,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """Build a schedule that moves from ``init_value`` to ``end_value`` in a line.

    This is ``polynomial_schedule`` with ``power=1``: the value is
    ``init_value`` up to ``transition_begin``, changes by an equal amount at
    each of the next ``transition_steps`` steps, and stays at ``end_value``.

    Args:
        init_value: The value before and at ``transition_begin``.
        end_value: The value from ``transition_begin + transition_steps`` on.
        transition_steps: The length of the transition, >= 0; with 0 the value
            jumps to ``end_value`` at ``transition_begin``.
        transition_begin: The step at which the transition starts, >= 0.

    Returns:
        A function of the step that returns a float32 array.

    Notes:
        See ``polynomial_schedule`` for the zero-length transition, where
        optax 0.2.8 differs.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.linear_schedule(0.0, 1.0, transition_steps=4)
        >>> [float(schedule(step)) for step in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    return polynomial_transition(
        "linear_schedule", init_value, end_value, 1, transition_steps, transition_begin
    )


def piecewise_constant_schedule(
    init_value: jax.typing.ArrayLike,
    boundaries_and_scales: dict[int, float] | None = None,
) -> Schedule:
    """Build a step schedule: ``init_value`` times a factor at each boundary.

    At step ``t`` the value is ``init_value`` multiplied by every ``scale``
    whose boundary is ``<= t``.

    Args:
        init_value: The value before the first boundary.
        boundaries_and_scales: A dict from a step (an integer >= 0) to the
            factor (>= 0) applied from that step on. A boundary at step 0
            scales the value from the start. ``None`` or ``{}`` gives a
            constant schedule.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: A boundary is negative, or a scale is negative or not
            finite.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.piecewise_constant_schedule(1.0, {10: 0.1, 20: 0.5})
        >>> [round(float(schedule(step)), 4) for step in (9, 10, 19, 20)]
        [1.0, 0.1, 0.1, 0.05]
    """
    call = "piecewise_constant_schedule"
    check_value(call, "init_value", init_value)
    boundaries, scales = check_boundaries_and_scales(call, boundaries_and_scales)
    dtype = value_dtype(init_value, *scales)

    def schedule(count):
        step = as_step(count, dtype)
        value = jnp.broadcast_to(as_value(init_value, dtype), step.shape)
        for boundary, scale in zip(boundaries, scales, strict=True):
            value = jnp.where(step < boundary, value, value * as_value(scale, dtype))
        return value

    return schedule


def exponential_decay(
    init_value: jax.typing.ArrayLike,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> Schedule:
    r"""Build a schedule that multiplies ``init_value`` by ``decay_rate`` per period.

    With :math:`I` = ``init_value``, :math:`r` = ``decay_rate``, :math:`B` =
    ``transition_begin`` and :math:`T` = ``transition_steps``, the value at
    step :math:`t > B` is :math:`I r^{(t - B) / T}`, and :math:`I` up to step
    :math:`B`. With ``staircase=True`` the exponent is rounded down, so the
    value changes once every :math:`T` steps.

    Args:
        init_value: The value up to ``transition_begin``.
        transition_steps: The period :math:`T` over which the value is
            multiplied by ``decay_rate`` once, >= 1.
        decay_rate: The factor per period, > 0. Below 1 the value decays;
            above 1 it grows.
        transition_begin: The step at which the decay starts, >= 0.
        staircase: Change the value only at whole periods.
        end_value: A bound on the value: a lower bound when ``decay_rate < 1``
            and an upper bound otherwise. It must lie on the far side of
            ``init_value``, because a bound that ``init_value`` already
            crosses would hold the schedule at ``end_value`` throughout.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: ``transition_steps`` < 1, ``transition_begin`` < 0,
            ``decay_rate`` <= 0, a value is not finite, or ``end_value`` is on
            the wrong side of ``init_value``.

    Notes:
        optax 0.2.8 returns the constant ``init_value`` when
        ``transition_steps`` <= 0 or ``decay_rate`` == 0, treats a negative
        ``transition_begin`` as 0, and accepts an ``end_value`` on the wrong
        side. All of these raise here. The growth factor is capped at the
        largest float32, so a growing schedule from an ``init_value`` of 0
        stays 0 where optax returns NaN.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.exponential_decay(1.0, 10, 0.5, staircase=True)
        >>> [float(schedule(step)) for step in (0, 9, 10, 25)]
        [1.0, 1.0, 0.5, 0.25]
    """
    return exponential_transition(
        "exponential_decay",
        init_value,
        transition_steps,
        decay_rate,
        transition_begin,
        staircase,
        end_value,
    )


def exponential_transition(
    call: str,
    init_value: jax.typing.ArrayLike,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int,
    staircase: bool,
    end_value: jax.typing.ArrayLike | None,
    *,
    init_name: str = "init_value",
) -> Schedule:
    """Build ``exponential_decay``; errors name ``call`` and ``init_name``."""
    check_value(call, init_name, init_value)
    transition_steps = check_step_count(call, "transition_steps", transition_steps, 1)
    check_range(call, "decay_rate", decay_rate, low=0.0, low_open=True)
    transition_begin = check_step_count(call, "transition_begin", transition_begin)
    if not isinstance(staircase, bool):
        raise TypeError(f"{call}(staircase={staircase!r}) must be True or False.")
    if end_value is not None:
        check_value(call, "end_value", end_value)
        _check_bound_side(call, init_name, init_value, decay_rate, end_value)
    dtype = value_dtype(init_value, decay_rate, end_value)

    def schedule(count):
        step = as_step(count, dtype)
        init = as_value(init_value, dtype)
        rate = as_value(decay_rate, dtype)
        elapsed = step - transition_begin
        exponent = elapsed / transition_steps
        if staircase:
            exponent = jnp.floor(exponent)
        # A growing schedule overflows to inf, and 0 * inf would be NaN.
        factor = jnp.minimum(rate**exponent, jnp.finfo(dtype).max)
        value = jnp.where(elapsed <= 0, init, init * factor)
        if end_value is None:
            return value
        end = as_value(end_value, dtype)
        return jnp.where(rate < 1, jnp.maximum(value, end), jnp.minimum(value, end))

    return schedule


def _check_bound_side(call, init_name, init_value, decay_rate, end_value) -> None:
    init = _validate.concrete_scalar(init_value)
    rate = _validate.concrete_scalar(decay_rate)
    end = _validate.concrete_scalar(end_value)
    if init is None or rate is None or end is None:
        return
    if rate < 1 and end > init:
        raise ValueError(
            f"{call}(end_value={end!r}) is above {init_name}={init!r}, but with "
            f"decay_rate={rate!r} < 1 end_value is a lower bound, so the schedule "
            f"would never leave end_value. Pass an end_value <= {init_name}, or "
            "None for no bound."
        )
    if rate >= 1 and end < init:
        raise ValueError(
            f"{call}(end_value={end!r}) is below {init_name}={init!r}, but with "
            f"decay_rate={rate!r} >= 1 end_value is an upper bound, so the schedule "
            f"would never leave end_value. Pass an end_value >= {init_name}, or "
            "None for no bound."
        )
