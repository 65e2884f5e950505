"""Linear warmup followed by a constant or an exponential decay."""

import jax

from optgrad._typing import Schedule
from optgrad.schedules._basic import exponential_transition, polynomial_transition
from optgrad.schedules._common import check_step_count, check_value
from optgrad.schedules._join import join_schedules


def warmup_constant_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
) -> Schedule:
    """Build a linear warmup from ``init_value`` to ``peak_value``, then hold it.

    Args:
        init_value: The value at step 0.
        peak_value: The value from step ``warmup_steps`` on.
        warmup_steps: The length of the warmup, >= 0. With 0 the value is
            ``peak_value`` from step 0.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: ``warmup_steps`` < 0 or a value is not finite.

    Notes:
        With ``warmup_steps=0`` optax 0.2.8 returns ``init_value`` at every
        step and never reaches ``peak_value``.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.warmup_constant_schedule(0.0, 1.0, warmup_steps=4)
        >>> [float(schedule(step)) for step in (0, 2, 4, 100)]
        [0.0, 0.5, 1.0, 1.0]
    """
    call = "warmup_constant_schedule"
    check_value(call, "init_value", init_value)
    check_value(call, "peak_value", peak_value)
    return polynomial_transition(
        call, init_value, peak_value, 1, warmup_steps, 0, steps_name="warmup_steps"
    )


def warmup_exponential_decay_schedule(
    init_value: jax.typing.ArrayLike,
    peak_value: jax.typing.ArrayLike,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: jax.typing.ArrayLike,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: jax.typing.ArrayLike | None = None,
) -> Schedule:
    """Build a linear warmup to ``peak_value`` followed by an exponential decay.

    The value rises in a line from ``init_value`` at step 0 to ``peak_value``
    at step ``warmup_steps``. From there it follows
    ``exponential_decay(peak_value, transition_steps, decay_rate,
    transition_begin, staircase, end_value)``, counting steps from the end
    of the warmup.

    Args:
        init_value: The value at step 0.
        peak_value: The value at the end of the warmup.
        warmup_steps: The length of the warmup, >= 0.
        transition_steps: The period over which the value is multiplied by
            ``decay_rate`` once, >= 1.
        decay_rate: The factor per period, > 0.
        transition_begin: Steps after the warmup before the decay starts,
            >= 0.
        staircase: Change the value only at whole periods.
        end_value: A lower bound when ``decay_rate < 1``, an upper bound
            otherwise; it must lie on the far side of ``peak_value``.

    Returns:
        A function of the step that returns a float32 array.

    Raises:
        ValueError: As ``exponential_decay``, or ``warmup_steps`` < 0.

    Notes:
        See ``exponential_decay`` for the settings that optax 0.2.8 accepts
        and that raise here.

    Examples:
        >>> import optgrad
        >>> schedule = optgrad.warmup_exponential_decay_schedule(
        ...     0.0, 1.0, warmup_steps=2, transition_steps=1, decay_rate=0.5
        ... )
        >>> [float(schedule(step)) for step in range(5)]
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    call = "warmup_exponential_decay_schedule"
    check_value(call, "init_value", init_value)
    check_value(call, "peak_value", peak_value)
    warmup_steps = check_step_count(call, "warmup_steps", warmup_steps)
    warmup = polynomial_transition(
        call, init_value, peak_value, 1, warmup_steps, 0, steps_name="warmup_steps"
    )
    decay = exponential_transition(
        call,
        peak_value,
        transition_steps,
        decay_rate,
        transition_begin,
        staircase,
        end_value,
        init_name="peak_value",
    )
    return join_schedules([warmup, decay], [warmup_steps])
