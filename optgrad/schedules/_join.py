"""Running schedules one after another: ``join_schedules``."""

from collections.abc import Sequence

import jax.numpy as jnp

from optgrad._typing import Schedule
from optgrad.schedules._common import check_step_count
from optgrad.tree import promote


def join_schedules(
    schedules: Sequence[Schedule], boundaries: Sequence[int]
) -> Schedule:
    """Build a schedule that switches to the next schedule at each boundary.

    Before ``boundaries[0]`` the value is ``schedules[0](step)``. From
    ``boundaries[i]`` on it is ``schedules[i + 1](step - boundaries[i])``, so
    each schedule counts its steps from the boundary where it starts.

    Args:
        schedules: The schedules, in the order they run; at least one.
        boundaries: The steps at which the next schedule starts: integers >= 0,
            strictly increasing, one fewer than ``schedules``. A boundary at 0
            skips the first schedule.

    Returns:
        A function of the step. Its value has the widest dtype the schedules
        return, and at least float32.

    Raises:
        TypeError: A schedule is not callable, or a boundary is not an integer.
        ValueError: There are no schedules, the number of boundaries is not
            one fewer, or the boundaries are negative or not increasing.

    Notes:
        optax 0.2.8 pairs schedules and boundaries with ``zip`` and drops
        what is left over, and accepts boundaries in any order; here a
        mismatch raises.

    Examples:
        >>> import optgrad
        >>> warmup = optgrad.linear_schedule(0.0, 1.0, transition_steps=2)
        >>> decay = optgrad.exponential_decay(1.0, 1, 0.5)
        >>> schedule = optgrad.join_schedules([warmup, decay], [2])
        >>> [float(schedule(step)) for step in range(5)]
        [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    call = "join_schedules"
    if isinstance(schedules, str) or not isinstance(schedules, Sequence):
        raise TypeError(
            f"{call}(schedules=...) must be a list of schedules, got "
            f"{type(schedules).__name__}."
        )
    if isinstance(boundaries, str) or not isinstance(boundaries, Sequence):
        raise TypeError(
            f"{call}(boundaries=...) must be a list of integer steps, got "
            f"{type(boundaries).__name__}."
        )
    schedules = list(schedules)
    if not schedules:
        raise ValueError(f"{call}(schedules=[]) needs at least one schedule.")
    for index, schedule in enumerate(schedules):
        if not callable(schedule):
            raise TypeError(
                f"{call}: schedules[{index}] must be a function of the step, got "
                f"{type(schedule).__name__} {schedule!r}. Wrap a number in "
                "optgrad.constant_schedule."
            )
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"{call}: {len(schedules)} schedules need {len(schedules) - 1} "
            f"boundaries, got {len(boundaries)}: {list(boundaries)!r}."
        )
    boundaries = [
        check_step_count(call, f"boundaries[{index}]", boundary)
        for index, boundary in enumerate(boundaries)
    ]
    for index in range(1, len(boundaries)):
        if boundaries[index] <= boundaries[index - 1]:
            raise ValueError(
                f"{call}(boundaries={boundaries!r}) must be strictly increasing, but "
                f"boundaries[{index}]={boundaries[index]} is not greater than "
                f"boundaries[{index - 1}]={boundaries[index - 1]}."
            )

    def joined(count):
        step = jnp.asarray(count)
        values = [jnp.asarray(schedules[0](step))]
        for boundary, schedule in zip(boundaries, schedules[1:], strict=True):
            values.append(jnp.asarray(schedule(step - boundary)))
        dtype = promote(jnp.float32, *values)
        value = values[0].astype(dtype)
        for boundary, later in zip(boundaries, values[1:], strict=True):
            value = jnp.where(step < boundary, value, later.astype(dtype))
        return value

    return joined
