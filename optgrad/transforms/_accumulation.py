"""Gradient accumulation over several steps: ``MultiSteps`` and ``apply_every``."""

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformationExtraArgs, with_extra_args_support
from optgrad._numerics import safe_increment
from optgrad._typing import OptState, Params, Updates
from optgrad.transforms._wrapping import (
    check_transformation,
    count_not_finite,
    zeros_like_output,
)


class ShouldSkipUpdateFunction(Protocol):
    """A function that decides whether ``MultiSteps`` drops a mini-step."""

    def __call__(
        self,
        updates: Updates,
        gradient_step: jax.typing.ArrayLike,
        params: Params | None,
    ) -> tuple[jax.typing.ArrayLike, Any]:
        """Return ``(should_skip, skip_state)``.

        Args:
            updates: The gradients of the mini-step.
            gradient_step: ``MultiStepsState.gradient_step``, the number of
                updates emitted so far, on which a threshold may depend.
            params: The current params, or ``None``.

        Returns:
            A boolean scalar array, ``True`` to drop the mini-step, and any
            pytree of arrays, stored in ``MultiStepsState.skip_state``.
        """


def skip_not_finite(
    updates: Updates,
    gradient_step: jax.typing.ArrayLike,
    params: Params | None,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Skip a mini-step whose gradients contain a NaN or an infinity.

    A ``ShouldSkipUpdateFunction`` for ``MultiSteps``.

    Returns:
        ``should_skip`` and the dict ``{"should_skip": ..., "num_not_finite":
        ...}``, where ``num_not_finite`` is the int32 count of non-finite
        elements.
    """
    del gradient_step, params
    num_not_finite = count_not_finite(updates)
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def skip_large_updates(
    updates: Updates,
    gradient_step: jax.typing.ArrayLike,
    params: Params | None,
    max_squared_norm: jax.typing.ArrayLike,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Skip a mini-step whose squared global norm is not below a threshold.

    A ``ShouldSkipUpdateFunction`` once the threshold is bound, for example
    ``functools.partial(skip_large_updates, max_squared_norm=100.0)``. A NaN
    norm is skipped too.

    Returns:
        ``should_skip`` and the dict ``{"should_skip": ..., "norm_squared":
        ...}``.
    """
    del gradient_step, params
    norm_squared = tree.norm(updates, squared=True)
    limit = jnp.asarray(max_squared_norm).astype(norm_squared.dtype)
    should_skip = ~(norm_squared < limit)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_squared}


class MultiStepsState(NamedTuple):
    """State of ``MultiSteps``."""

    mini_step: jax.Array  # int32 scalar: mini-steps accumulated in this window.
    gradient_step: jax.Array  # int32 scalar: updates emitted so far.
    inner_opt_state: OptState  # The wrapped optimizer's state.
    acc_grads: Updates  # Mean (or sum) of this window's gradients so far.
    skip_state: Any = ()  # Whatever ``should_skip_update_fn`` returned last.


def _never_skip(updates, gradient_step, params):
    del updates, gradient_step, params
    return jnp.asarray(False), ()


def _accumulator_zeros(params: Params, dtype: Any | None) -> Updates:
    """Return zeros for the accumulator, complex for complex leaves."""

    def leaf(p):
        p_dtype = tree.compute_dtype(jnp.asarray(p).dtype)
        if dtype is None:
            acc_dtype = p_dtype
        elif jnp.issubdtype(p_dtype, jnp.complexfloating):
            acc_dtype = tree.promote(dtype, p_dtype)
        else:
            acc_dtype = jnp.dtype(dtype)
        return jnp.zeros_like(p, dtype=acc_dtype)

    return jax.tree.map(leaf, params)


class MultiSteps:
    """Accumulate gradients over several mini-steps and update once per window.

    Each call to ``update`` adds the gradients of one mini-batch to an
    accumulator and returns zeros. The call that completes a window of
    ``every_k_schedule`` mini-steps passes the mean (or sum) of the window
    to the wrapped optimizer, returns its updates and clears the
    accumulator. With the mean, ``k`` mini-batches of size ``n`` make one
    step of the wrapped optimizer on a batch of size ``k * n`` (for a loss
    that averages over the batch), without the large batch in memory.

    Args:
        opt: The wrapped optimizer.
        every_k_schedule: The window length: an integer >= 1, or a function
            of ``gradient_step`` (the number of updates emitted so far) that
            returns one, which grows or shrinks the effective batch size
            during training.
        use_grad_mean: Pass the mean of the window's gradients. With
            ``False`` their sum is passed.
        should_skip_update_fn: A ``ShouldSkipUpdateFunction`` that drops a
            mini-step, as if it never happened: the counters and the
            accumulator stay, and the call returns zeros. Use
            ``skip_not_finite`` to drop gradients with NaN or infinity, or
            ``functools.partial(skip_large_updates, max_squared_norm=...)``.
            Its second output is kept in ``MultiStepsState.skip_state``.
        accumulator_dtype: The accumulator's dtype, float32 by default.
            ``None`` uses float32 for 16-bit params and the param dtype
            otherwise. Complex params get the matching complex dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.MultiSteps(optgrad.sgd(1.0), every_k_schedule=2)
        >>> params = jnp.zeros(2)
        >>> state = opt.init(params)
        >>> updates, state = opt.update(jnp.array([1.0, 2.0]), state, params)
        >>> updates.tolist()
        [0.0, 0.0]
        >>> updates, state = opt.update(jnp.array([3.0, 4.0]), state, params)
        >>> updates.tolist()
        [-2.0, -3.0]

    Notes:
        optax 0.2.8 clears its accumulator by multiplying it by zero and
        masks the steps between emissions the same way, so one NaN
        gradient makes every later update NaN. Here both are selections:
        a NaN gradient spoils only the update of its own window, steps
        between emissions return exact zeros, and the next window starts
        clean. Only the window's last mini-step runs the wrapped optimizer
        (optax runs it at every mini-step and discards the result).
    """

    def __init__(
        self,
        opt: Any,
        every_k_schedule: int | Callable[[jax.Array], jax.typing.ArrayLike],
        use_grad_mean: bool = True,
        should_skip_update_fn: ShouldSkipUpdateFunction | None = None,
        accumulator_dtype: Any | None = jnp.float32,
    ):
        check_transformation("MultiSteps", "opt", opt)
        if callable(every_k_schedule):
            self._every_k_schedule = every_k_schedule
        else:
            _validate.check_positive_int(
                "MultiSteps", "every_k_schedule", every_k_schedule
            )
            k = int(every_k_schedule)
            self._every_k_schedule = lambda step: k
        if should_skip_update_fn is not None and not callable(should_skip_update_fn):
            raise TypeError(
                "MultiSteps(should_skip_update_fn=...) must be a function of "
                "(updates, gradient_step, params), such as "
                "optgrad.skip_not_finite, but got "
                f"{type(should_skip_update_fn).__name__}."
            )
        _validate.check_dtype("MultiSteps", "accumulator_dtype", accumulator_dtype)
        self._opt = with_extra_args_support(opt)
        self._use_grad_mean = use_grad_mean
        self._should_skip_update_fn = should_skip_update_fn or _never_skip
        self._accumulator_dtype = accumulator_dtype

    @property
    def inner_opt(self) -> GradientTransformationExtraArgs:
        """The wrapped optimizer."""
        return self._opt

    def init(self, params: Params) -> MultiStepsState:
        """Return the initial state: empty accumulator, counters at zero."""
        gradient_step = jnp.zeros([], jnp.int32)
        _, skip_state = self._should_skip_update_fn(
            tree.zeros_like(params), gradient_step, params
        )
        return MultiStepsState(
            mini_step=jnp.zeros([], jnp.int32),
            gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=_accumulator_zeros(params, self._accumulator_dtype),
            skip_state=skip_state,
        )

    def _accumulate(self, updates: Updates, acc_grads: Updates, mini_step: jax.Array):
        def leaf(g, acc):
            g = jnp.asarray(g)
            dtype = tree.compute_dtype(tree.promote(g.dtype, acc.dtype))
            g_wide, acc_wide = g.astype(dtype), acc.astype(dtype)
            if self._use_grad_mean:
                # A running mean rather than sum / k keeps the accumulator at
                # the scale of one gradient, whatever the window length.
                count = (mini_step + 1).astype(dtype)
                new = acc_wide + (g_wide - acc_wide) / count
            else:
                new = acc_wide + g_wide
            return new.astype(acc.dtype)

        return jax.tree.map(leaf, updates, acc_grads)

    def update(
        self,
        updates: Updates,
        state: MultiStepsState,
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, MultiStepsState]:
        """Accumulate one mini-step, and emit the inner update at a window's end."""
        tree.check_same_shapes(
            "MultiSteps.update",
            ("updates", updates),
            ("params", params),
            ("state.acc_grads", state.acc_grads),
        )
        inner = self._opt
        k_steps = jnp.asarray(self._every_k_schedule(state.gradient_step))
        k_steps = k_steps.astype(jnp.int32)
        should_skip, skip_state = self._should_skip_update_fn(
            updates, state.gradient_step, params
        )
        should_skip = jnp.asarray(should_skip)
        if should_skip.dtype != jnp.bool_ or should_skip.shape != ():
            raise ValueError(
                "MultiSteps(should_skip_update_fn=...) must return a boolean scalar "
                f"as its first output, got dtype {should_skip.dtype} and shape "
                f"{should_skip.shape}."
            )
        zeros = zeros_like_output(
            inner,
            tree.cast_like(state.acc_grads, updates),
            state.inner_opt_state,
            params,
            extra_args,
        )

        def skip(_):
            return zeros, state._replace(skip_state=skip_state)

        def accumulate(_):
            acc_grads = self._accumulate(updates, state.acc_grads, state.mini_step)
            emit = state.mini_step >= k_steps - 1

            def run_inner(_):
                return inner.update(
                    tree.cast_like(acc_grads, updates),
                    state.inner_opt_state,
                    params,
                    **extra_args,
                )

            def hold(_):
                return zeros, state.inner_opt_state

            new_updates, inner_state = jax.lax.cond(emit, run_inner, hold, None)
            # Clearing with a selection, not a product with zero, keeps a NaN
            # gradient from leaking into the next window.
            acc_grads = jax.tree.map(
                lambda acc: jnp.where(emit, jnp.zeros_like(acc), acc), acc_grads
            )
            new_state = MultiStepsState(
                mini_step=jnp.where(emit, 0, safe_increment(state.mini_step)),
                gradient_step=jnp.where(
                    emit, safe_increment(state.gradient_step), state.gradient_step
                ),
                inner_opt_state=inner_state,
                acc_grads=acc_grads,
                skip_state=skip_state,
            )
            return new_updates, new_state

        return jax.lax.cond(should_skip, skip, accumulate, None)

    def has_updated(self, state: MultiStepsState) -> jax.Array:
        """Return whether the last ``update`` completed a window.

        Only then did it return the wrapped optimizer's update rather than
        zeros.
        """
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformationExtraArgs:
        """Return ``init`` and ``update`` as a gradient transformation."""
        return GradientTransformationExtraArgs(self.init, self.update)


class ApplyEvery(NamedTuple):
    """State of ``apply_every``."""

    count: jax.Array  # int32 scalar: mini-steps since the last emission.
    grad_acc: Updates  # Sum of the gradients since the last emission.


def apply_every(k: int = 1) -> GradientTransformationExtraArgs:
    """Sum the updates of ``k`` steps and emit the sum on the k-th, zeros between.

    Transformations chained before this one still advance their state at
    every step, so ``k`` small batches through ``chain(adam, apply_every)``
    differ from one large batch. ``MultiSteps`` wraps the whole optimizer
    and does not have that difference.

    Args:
        k: The number of steps to sum, an integer >= 1.

    Returns:
        A ``GradientTransformationExtraArgs`` with an ``ApplyEvery`` state.
        The accumulator is float32 for 16-bit params, else the param dtype.

    Notes:
        optax 0.2.8 resets the sum and masks the steps in between by
        multiplying with zero, so one NaN makes every later update NaN. Here
        both are selections and the next window starts clean. optax keeps
        the sum of 16-bit params in their own dtype.
    """
    _validate.check_whole_number("apply_every", "k", k, minimum=1)

    def init_fn(params):
        return ApplyEvery(
            count=jnp.zeros([], jnp.int32), grad_acc=tree.moment_zeros_like(params)
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        tree.check_same_shapes(
            "apply_every.update",
            ("updates", updates),
            ("params", params),
            ("state.grad_acc", state.grad_acc),
        )
        period = jnp.asarray(k).astype(jnp.int32)
        position = state.count % period
        restart = position == 0
        emit = position == period - 1

        def leaf(g, acc):
            g = jnp.asarray(g)
            dtype = tree.compute_dtype(tree.promote(g.dtype, acc.dtype))
            carried = jnp.where(restart, jnp.zeros([], dtype), acc.astype(dtype))
            new_acc = carried + g.astype(dtype)
            out = jnp.where(emit, new_acc, jnp.zeros([], dtype))
            return out.astype(g.dtype), new_acc.astype(acc.dtype)

        updates, grad_acc = tree.map_unzip(leaf, 2, updates, state.grad_acc)
        count = safe_increment(state.count) % period
        return updates, ApplyEvery(count=count, grad_acc=grad_acc)

    return GradientTransformationExtraArgs(init_fn, update_fn)
