"""Running a transformation only at some steps, or only on finite gradients."""

from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from optgrad import _validate
from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from optgrad._numerics import safe_increment
from optgrad._typing import OptState
from optgrad.transforms._wrapping import (
    all_finite,
    as_condition,
    check_transformation,
    zeros_like_output,
)


class ConditionFn(Protocol):
    """A function of the step count that decides whether to run the inner one."""

    def __call__(self, step: jax.Array, **extra_args: Any) -> jax.typing.ArrayLike:
        """Return a boolean scalar from ``step``, the int32 count of earlier calls."""


def _check_condition_fn(call: str, fn: Any) -> None:
    if not callable(fn):
        raise TypeError(
            f"{call}(should_transform_fn=...) must be a function of the int32 step "
            f"count that returns a boolean scalar, got {type(fn).__name__}."
        )


def _run_or_replace(
    run: jax.Array,
    inner: GradientTransformationExtraArgs,
    replacement: Any,
    updates: Any,
    inner_state: OptState,
    params: Any,
    extra_args: dict[str, Any],
) -> tuple[Any, OptState]:
    """Return ``inner``'s update where ``run`` holds, else ``replacement``.

    When ``inner`` does not run, its state stays as it is.
    """

    def transform(_):
        return inner.update(updates, inner_state, params, **extra_args)

    def keep(_):
        return replacement, inner_state

    return jax.lax.cond(run, transform, keep, None)


class ConditionallyTransformState(NamedTuple):
    """State of ``conditionally_transform``."""

    inner_state: OptState  # The inner transformation's state.
    step: jax.Array  # int32 scalar: the number of calls to update so far.


def conditionally_transform(
    inner: GradientTransformation,
    should_transform_fn: ConditionFn,
    forward_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    """Run ``inner`` only at the steps that ``should_transform_fn`` selects.

    At the other steps the updates pass through unchanged and the inner
    state stays as it is. ``conditionally_mask`` returns zeros there instead.

    Args:
        inner: The transformation to run.
        should_transform_fn: Called with the int32 number of earlier
            ``update`` calls. Returns a boolean scalar, ``True`` to run
            ``inner``.
        forward_extra_args: Also pass the extra keyword arguments of
            ``update`` to ``should_transform_fn``.

    Returns:
        A ``GradientTransformationExtraArgs`` with a
        ``ConditionallyTransformState``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.conditionally_transform(
        ...     optgrad.scale(10.0), lambda step: step % 2 == 1)
        >>> state = tx.init(jnp.ones(1))
        >>> for _ in range(3):
        ...     updates, state = tx.update(jnp.ones(1), state)
        ...     print(updates.tolist())
        [1.0]
        [10.0]
        [1.0]
    """
    check_transformation("conditionally_transform", "inner", inner)
    _check_condition_fn("conditionally_transform", should_transform_fn)
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ConditionallyTransformState(
            inner_state=inner.init(params), step=jnp.zeros([], jnp.int32)
        )

    def update_fn(updates, state, params=None, **extra_args):
        condition_args = extra_args if forward_extra_args else {}
        run = as_condition(
            "conditionally_transform(should_transform_fn=...)",
            should_transform_fn(state.step, **condition_args),
        )
        # The updates pass through in the dtypes that ``inner`` returns, as
        # both branches of lax.cond must match.
        zeros = zeros_like_output(inner, updates, state.inner_state, params, extra_args)
        unchanged = jax.tree.map(lambda u, z: u.astype(z.dtype), updates, zeros)
        updates, inner_state = _run_or_replace(
            run, inner, unchanged, updates, state.inner_state, params, extra_args
        )
        return updates, ConditionallyTransformState(
            inner_state=inner_state, step=safe_increment(state.step)
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)


class ConditionallyMaskState(NamedTuple):
    """State of ``conditionally_mask``."""

    step: jax.Array  # int32 scalar: the number of calls to update so far.
    inner_state: OptState  # The inner transformation's state.


def conditionally_mask(
    inner: GradientTransformation,
    should_transform_fn: ConditionFn,
    forward_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    """Run ``inner`` at the steps that ``should_transform_fn`` selects, else zero.

    At the other steps the updates are zero and the inner state stays as it
    is. ``conditionally_transform`` passes the updates through instead.

    Args:
        inner: The transformation to run.
        should_transform_fn: Called with the int32 number of earlier
            ``update`` calls. Returns a boolean scalar, ``True`` to run
            ``inner``.
        forward_extra_args: Also pass the extra keyword arguments of
            ``update`` to ``should_transform_fn``.

    Returns:
        A ``GradientTransformationExtraArgs`` with a ``ConditionallyMaskState``.
    """
    check_transformation("conditionally_mask", "inner", inner)
    _check_condition_fn("conditionally_mask", should_transform_fn)
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ConditionallyMaskState(
            step=jnp.zeros([], jnp.int32), inner_state=inner.init(params)
        )

    def update_fn(updates, state, params=None, **extra_args):
        condition_args = extra_args if forward_extra_args else {}
        run = as_condition(
            "conditionally_mask(should_transform_fn=...)",
            should_transform_fn(state.step, **condition_args),
        )
        zeros = zeros_like_output(inner, updates, state.inner_state, params, extra_args)
        updates, inner_state = _run_or_replace(
            run, inner, zeros, updates, state.inner_state, params, extra_args
        )
        return updates, ConditionallyMaskState(
            step=safe_increment(state.step), inner_state=inner_state
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)


class ApplyIfFiniteState(NamedTuple):
    """State of ``apply_if_finite``."""

    # int32 scalar: consecutive steps with a NaN or infinite gradient, reset
    # to 0 by a finite one.
    notfinite_count: jax.Array
    last_finite: jax.Array  # bool scalar: whether the last gradient was finite.
    # int32 scalar: all steps with a NaN or infinite gradient so far.
    total_notfinite: jax.Array
    inner_state: OptState  # The inner transformation's state.


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformationExtraArgs:
    """Skip the steps whose gradients contain a NaN or an infinity.

    A skipped step returns zero updates and leaves the inner state as it
    is, so one bad batch (a loss spike in mixed precision, say) costs one
    step instead of the run. After more than ``max_consecutive_errors``
    skipped steps in a row, the wrapper stops skipping and passes the
    non-finite gradients to ``inner``, so that a diverged run shows up.

    Args:
        inner: The transformation to protect, usually the whole optimizer.
        max_consecutive_errors: How many non-finite steps in a row to
            skip, an integer >= 0.

    Returns:
        A ``GradientTransformationExtraArgs`` with an ``ApplyIfFiniteState``,
        whose counters a training loop can log.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> tx = optgrad.apply_if_finite(optgrad.sgd(0.1), max_consecutive_errors=3)
        >>> state = tx.init(jnp.zeros(2))
        >>> updates, state = tx.update(jnp.array([1.0, jnp.nan]), state)
        >>> updates.tolist(), int(state.total_notfinite)
        ([0.0, 0.0], 1)
    """
    check_transformation("apply_if_finite", "inner", inner)
    _validate.check_positive_int(
        "apply_if_finite", "max_consecutive_errors", max_consecutive_errors, minimum=0
    )
    inner = with_extra_args_support(inner)

    def init_fn(params):
        return ApplyIfFiniteState(
            notfinite_count=jnp.zeros([], jnp.int32),
            last_finite=jnp.asarray(True),
            total_notfinite=jnp.zeros([], jnp.int32),
            inner_state=inner.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        finite = all_finite(updates)
        notfinite_count = jnp.where(
            finite, jnp.zeros([], jnp.int32), safe_increment(state.notfinite_count)
        )
        accept = finite | (notfinite_count > max_consecutive_errors)
        zeros = zeros_like_output(inner, updates, state.inner_state, params, extra_args)
        updates, inner_state = _run_or_replace(
            accept, inner, zeros, updates, state.inner_state, params, extra_args
        )
        return updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=finite,
            total_notfinite=jnp.where(
                finite, state.total_notfinite, safe_increment(state.total_notfinite)
            ),
            inner_state=inner_state,
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)
