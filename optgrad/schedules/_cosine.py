"""Cosine decay, its warmup form, and cosine decay with warm restarts (SGDR)."""

from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from optgrad._typing import Schedule
from optgrad.schedules._basic import polynomial_transition
from optgrad.schedules._common import (
    as_step,
    as_value,
    check_range,
    check_step_count,
    check_value,
    value_dtype,
)
from optgrad.schedules._join import join_schedules


def _half_cosine(step: jax.Array, length: int) -> jax.Array:
    """Return ``(1 + cos(pi * min(step, length) / length)) / 2``: from 1 down to 0."""
    step = jnp.minimum(step, length)
    # Clipped at 0 because a fractional power of a rounding error below 0
    # would be NaN.
    return jnp.maximum(0.5 * (1 + jnp.cos(jnp.pi * step / length)), 0)


def cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    decay_steps: int,
    alpha: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    r"""Build a schedule that decays ``init_value`` along half a cosine wave.

    With :math:`I` = ``init_value``, :math:`T` = ``decay_steps``, :math:`p` =
    ``exponent`` and :math:`c_t = \frac{1}{2}(1 + \cos(\pi \min(t, T) / T))`,
    the value at step :math:`t` is

    .. math::

        I \left((1 - \alpha) c_t^p + \alpha\right),

    so it falls from :math:`I` to :math:`\alpha I` over :math:`T` steps and
    stays there.

    Args:
        init_value: The value at step 0.
        decay_steps: The length of the decay, >= 1.
        alpha: The final value as a fraction of ``init_value``.
        exponent: The power :math:`p > 0` applied to the cosine factor.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: ``decay_steps`` < 1, ``exponent`` <= 0, or a value is not
            finite.

    Notes:
        optax 0.2.8 accepts ``exponent`` <= 0, where the value is constant
        (0) or infinite at the end of the decay (< 0); both raise here.

    References:
        Loshchilov and Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", 2017, https://arxiv.org/abs/1608.03983

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.cosine_decay_schedule(1.0, decay_steps=10, alpha=0.1)
        >>> [round(float(schedule(step)), 4) for step in (0, 5, 10, 100)]
        [1.0, 0.55, 0.1, 0.1]
    """
    call = "cosine_decay_schedule"
    check_value(call, "init_value", init_value)
    decay_steps = check_step_count(call, "decay_steps", decay_steps, 1)
    check_value(call, "alpha", alpha)
    check_range(call, "exponent", exponent, low=0.0, low_open=True)
    dtype = value_dtype(init_value, alpha, exponent)

    def schedule(count):
        step = as_step(count, dtype)
        fraction = as_value(alpha, dtype)
        cosine = _half_cosine(step, decay_steps) ** as_value(exponent, dtype)
        return as_value(init_value, dtype) * ((1 - fraction) * cosine + fraction)

    return schedule


def warmup_cosine_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
    decay_steps: int,
    end_value: jax.typing.ArrayLike = 0.0,
    exponent: jax.typing.ArrayLike = 1.0,
) -> Schedule:
    r"""Build a linear warmup to ``peak_value`` followed by a cosine decay.

    The value rises in a line from ``init_value`` at step 0 to ``peak_value``
    at step ``warmup_steps``, then falls along half a cosine wave (raised to
    ``exponent``) to ``end_value`` at step ``decay_steps``, and stays there.

    Args:
        init_value: The value at step 0.
        peak_value: The value at the end of the warmup.
        warmup_steps: The length of the warmup, >= 0. With 0 the schedule
            starts at ``peak_value``.
        decay_steps: The length of the whole schedule, warmup included, >=
            ``warmup_steps``. When it equals ``warmup_steps`` the value jumps
            to ``end_value`` after the warmup.
        end_value: The value from step ``decay_steps`` on.
        exponent: The power (> 0) applied to the cosine factor.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: A step count is negative, ``decay_steps`` <
            ``warmup_steps``, ``exponent`` <= 0, or a value is not finite.

    Notes:
        The decay is :math:`E + (P - E) c_t^p` for peak :math:`P` and end
        value :math:`E`. optax 0.2.8 writes it as a fraction
        :math:`\alpha = E / P` of the peak and sets :math:`\alpha = 0` when
        :math:`P = 0`, so there it ignores ``end_value`` for a zero peak;
        it also raises when ``decay_steps`` equals ``warmup_steps``. Both
        forms agree to float32 rounding otherwise.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.warmup_cosine_decay_schedule(
        ...     0.0, 1.0, warmup_steps=2, decay_steps=12, end_value=0.1
        ... )
        >>> [round(float(schedule(step)), 4) for step in (0, 1, 2, 7, 12, 50)]
        [0.0, 0.5, 1.0, 0.55, 0.1, 0.1]
    """
    call = "warmup_cosine_decay_schedule"
    check_value(call, "init_value", init_value)
    check_value(call, "peak_value", peak_value)
    warmup_steps = check_step_count(call, "warmup_steps", warmup_steps)
    decay_steps = check_step_count(call, "decay_steps", decay_steps)
    if decay_steps < warmup_steps:
        raise ValueError(
            f"{call}(decay_steps={decay_steps}) is shorter than "
            f"warmup_steps={warmup_steps}. decay_steps is the length of the whole "
            f"schedule, warmup included, so it must be >= {warmup_steps}."
        )
    check_value(call, "end_value", end_value)
    check_range(call, "exponent", exponent, low=0.0, low_open=True)
    dtype = value_dtype(init_value, peak_value, end_value, exponent)
    cosine_steps = decay_steps - warmup_steps

    warmup = polynomial_transition(
        call, init_value, peak_value, 1, warmup_steps, 0, steps_name="warmup_steps"
    )

    def decay(count):
        step = as_step(count, dtype)
        peak = as_value(peak_value, dtype)
        end = as_value(end_value, dtype)
        if cosine_steps == 0:
            return jnp.broadcast_to(end, step.shape)
        cosine = _half_cosine(step, cosine_steps) ** as_value(exponent, dtype)
        return (peak - end) * cosine + end

    return join_schedules([warmup, decay], [warmup_steps])


def sgdr_schedule(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    """Build cosine decay with warm restarts (SGDR): cycles run one after another.

    Each cycle is a ``warmup_cosine_decay_schedule`` built from one dict of
    keyword arguments, and lasts its ``decay_steps``. After the last cycle the value
    stays at its ``end_value``.

    Args:
        cosine_kwargs: One dict per cycle, with the arguments of
            ``warmup_cosine_decay_schedule``. Each needs ``decay_steps`` >= 1.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        TypeError: A cycle is not a dict, or has unknown or missing arguments.
        ValueError: There are no cycles, or a cycle is invalid; the message
            names the cycle.

    Notes:
        optax 0.2.8 accepts an empty list and fails only when the schedule
        is called.

    References:
        Loshchilov and Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", 2017, https://arxiv.org/abs/1608.03983

    Examples:
        >>> import optgrad
        >>> cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=1,
        ...              decay_steps=3)
        >>> schedule = optgrad.sgdr_schedule([cycle, cycle])
        >>> [round(float(schedule(step)), 4) for step in range(7)]
        [0.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0]
    """
    call = "sgdr_schedule"
    if isinstance(cosine_kwargs, Mapping) or not isinstance(cosine_kwargs, Iterable):
        raise TypeError(
            f"{call}(cosine_kwargs=...) must be a list of dicts, one per cycle, got "
            f"{type(cosine_kwargs).__name__}."
        )
    cycles = list(cosine_kwargs)
    if not cycles:
        raise ValueError(f"{call}(cosine_kwargs=[]) needs at least one cycle.")

    schedules, boundaries = [], []
    start = 0
    for index, kwargs in enumerate(cycles):
        if not isinstance(kwargs, Mapping):
            raise TypeError(
                f"{call}: cycle {index} of cosine_kwargs must be a dict of "
                "warmup_cosine_decay_schedule arguments, got "
                f"{type(kwargs).__name__}."
            )
        try:
            schedules.append(warmup_cosine_decay_schedule(**kwargs))
        except (TypeError, ValueError) as error:
            raise type(error)(
                f"{call}: cycle {index} of cosine_kwargs is invalid: {error}"
            ) from error
        if kwargs["decay_steps"] < 1:
            raise ValueError(
                f"{call}: cycle {index} has decay_steps={kwargs['decay_steps']}; "
                "each cycle must last at least one step."
            )
        start += kwargs["decay_steps"]
        boundaries.append(start)
    return join_schedules(schedules, boundaries[:-1])
