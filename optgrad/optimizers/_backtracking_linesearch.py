"""The backtracking line search: a stepsize that gives sufficient decrease."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import Updates
from optgrad.optimizers._linesearch import (
    as_scalar,
    report_failure,
    scale_or_zero,
    start_round,
    value_dtype,
    violation,
)


class BacktrackingLinesearchInfo(NamedTuple):
    """Diagnostics of one round of ``scale_by_backtracking_linesearch``."""

    # int32: the number of values of value_fn computed in the round.
    num_linesearch_steps: jax.Array
    # The amount by which the last stepsize tried violates the sufficient
    # decrease condition: 0 when it holds, inf for a non-finite value.
    decrease_error: jax.Array
    # bool: no stepsize met the condition, so the update is zero.
    failed: jax.Array
    # bool: the incoming updates were not a descent direction, so the search
    # followed the negative gradient instead.
    steepest_descent_fallback: jax.Array


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """State of ``scale_by_backtracking_linesearch``."""

    learning_rate: jax.Array  # The stepsize of the last round, 0 after a failure.
    value: jax.Array  # value_fn at the params the last update leads to.
    grad: Updates | None  # Its gradient with store_grad=True, else None.
    info: BacktrackingLinesearchInfo


def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: float = 1e-4,
    decrease_factor: float = 0.8,
    increase_factor: float = 1.5,
    max_learning_rate: float = 1.0,
    atol: float = 0.0,
    rtol: float = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Scale updates by a stepsize that gives sufficient decrease (Armijo).

    With params :math:`w`, updates :math:`u`, objective :math:`f` and its
    gradient :math:`g` at :math:`w`, the search accepts the first stepsize
    :math:`\eta` that satisfies

    .. math::

        f(w + \eta u) \le (1 + \delta) f(w) + c\, \eta\, \langle u, g \rangle
        + \epsilon,

    trying :math:`\eta_0, \rho \eta_0, \rho^2 \eta_0, \dots` where
    :math:`\eta_0 = \min(\gamma \eta_{prev}, \eta_{max})`.

    ``update`` takes the keyword arguments ``value`` and ``grad`` (the
    objective and its gradient at ``params``) and ``value_fn`` (the
    objective). Further keyword arguments go to ``value_fn``, for example a
    data batch.

    Args:
        max_backtracking_steps: The number of decreases of the stepsize
            tried after the first guess, >= 1.
        slope_rtol: :math:`c`, the fraction of the linear decrease required,
            in [0, 1).
        decrease_factor: :math:`\rho`, in (0, 1).
        increase_factor: :math:`\gamma`, applied to the previous stepsize to
            form the next first guess, > 0. ``1`` keeps the previous stepsize
            and ``math.inf`` starts from ``max_learning_rate`` every time.
        max_learning_rate: :math:`\eta_{max}`, > 0.
        atol: :math:`\epsilon`, >= 0.
        rtol: :math:`\delta`, >= 0.
        store_grad: Also compute the gradient at the accepted point and store
            it, so that ``value_and_grad_from_state`` can reuse it.
        verbose: Print a diagnostic with ``jax.debug.print`` when a round
            fails.

    Returns:
        A ``GradientTransformationExtraArgs`` with a
        ``ScaleByBacktrackingLinesearchState``.

    Notes:
        Where optax 0.2.8 differs:

        - A round that finds no stepsize satisfying the condition returns a
          zero update and sets ``info.failed``. The state keeps the value and
          gradient at the unchanged params. optax takes the last stepsize
          tried, which can increase the objective, unless its value is not
          finite.
        - After a failed round the next first guess is ``max_learning_rate``.
          optax stores the stepsize 0 and then keeps accepting 0 forever.
        - When the updates are not a descent direction (a non-negative slope
          :math:`\langle u, g \rangle`, or NaN), the search follows the
          negative gradient rescaled to the length of the updates, accepts a
          stepsize only if the objective does not increase, and sets
          ``info.steepest_descent_fallback``. optax searches along the
          ascent direction, where the condition admits an increase.

    References:
        Nocedal and Wright, "Numerical Optimization", 2nd edition, 2006,
        Algorithm 3.1, https://doi.org/10.1007/978-0-387-40065-5

        Vaswani et al., "Painless Stochastic Gradient: Interpolation,
        Line-Search, and Convergence Rates", 2019,
        https://arxiv.org/abs/1905.09997
    """
    name = "scale_by_backtracking_linesearch"
    _validate.check_positive_int(name, "max_backtracking_steps", max_backtracking_steps)
    _validate.check_range(name, "slope_rtol", slope_rtol, 0.0, 1.0, high_open=True)
    _validate.check_range(
        name,
        "decrease_factor",
        decrease_factor,
        0.0,
        1.0,
        low_open=True,
        high_open=True,
    )
    _validate.check_positive(name, "increase_factor", increase_factor)
    _validate.check_positive(name, "max_learning_rate", max_learning_rate)
    _validate.check_non_negative(name, "atol", atol)
    _validate.check_non_negative(name, "rtol", rtol)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        dtype = value_dtype(params)
        return ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.ones((), dtype),
            value=jnp.full((), jnp.inf, dtype),
            grad=tree.zeros_like(params) if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=jnp.zeros((), jnp.int32),
                decrease_error=jnp.full((), jnp.inf, dtype),
                failed=jnp.zeros((), bool),
                steepest_descent_fallback=jnp.zeros((), bool),
            ),
        )

    def update_fn(
        updates,
        state,
        params=None,
        *,
        value=None,
        grad=None,
        value_fn=None,
        **extra_args,
    ):
        call = f"{name}.update"
        fn_kwargs, dtype, value, grad, direction, slope, fallback = start_round(
            call, updates, params, value, grad, value_fn, extra_args
        )

        def cast(x):
            return jnp.asarray(x).astype(dtype)

        def evaluate(stepsize):
            candidate = tree.add_scale(params, stepsize, direction)
            return as_scalar(
                call, "value_fn(...)", value_fn(candidate, **fn_kwargs), dtype
            )

        def decrease_error(stepsize, new_value):
            error = (
                new_value
                - (1 + cast(rtol)) * value
                - stepsize * cast(slope_rtol) * slope
            )
            return violation(error)

        def keep_searching(carry):
            count, _, _, error = carry
            return ~(error <= cast(atol)) & (count <= max_backtracking_steps)

        def step(carry):
            count, stepsize, _, _ = carry
            stepsize = jnp.where(count > 0, cast(decrease_factor) * stepsize, stepsize)
            new_value = evaluate(stepsize)
            return count + 1, stepsize, new_value, decrease_error(stepsize, new_value)

        # A stepsize of 0 (after a failed round) or NaN would never move again.
        guess = jnp.minimum(
            cast(increase_factor) * state.learning_rate, cast(max_learning_rate)
        )
        guess = jnp.where(guess > 0, guess, cast(max_learning_rate))
        start = (jnp.zeros((), jnp.int32), guess, value, jnp.full((), jnp.inf, dtype))
        count, stepsize, new_value, error = jax.lax.while_loop(
            keep_searching, step, start
        )

        failed = ~(error <= cast(atol)) | (fallback & ~(new_value <= value))
        new_updates = scale_or_zero(stepsize, direction, failed)

        def grad_at_step():
            new_params = tree.add_scale(params, stepsize, direction)
            return tree.cast_like(jax.grad(value_fn)(new_params, **fn_kwargs), params)

        new_grad = None
        if store_grad:
            new_grad = jax.lax.cond(failed, lambda: grad, grad_at_step)
        if verbose:
            report_failure(name, failed, count, slope, value)
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.where(failed, jnp.zeros((), dtype), stepsize),
            value=jnp.where(failed, value, new_value),
            grad=new_grad,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=count,
                decrease_error=error,
                failed=failed,
                steepest_descent_fallback=fallback,
            ),
        )
        return new_updates, new_state

    return GradientTransformationExtraArgs(init_fn, update_fn)
