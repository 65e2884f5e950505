"""The zoom line search: a stepsize that satisfies the strong Wolfe conditions."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import Updates
from optgrad.optimizers._linesearch import (
    as_scalar,
    directional_slope,
    report_failure,
    scale_or_zero,
    start_round,
    value_dtype,
    violation,
)

_GUESS_STRATEGIES = ("one", "keep")


class ZoomLinesearchInfo(NamedTuple):
    """Diagnostics of one round of ``scale_by_zoom_linesearch``."""

    # int32: the number of values and gradients of value_fn computed.
    num_linesearch_steps: jax.Array
    # The amount by which the last stepsize tried violates the sufficient
    # decrease condition: 0 when it holds, inf for a non-finite value.
    decrease_error: jax.Array
    # The same for the curvature condition. A positive value alone is
    # harmless: the step still decreases the objective enough.
    curvature_error: jax.Array
    # bool: no stepsize gave sufficient decrease, so the update is zero.
    failed: jax.Array
    # bool: the incoming updates were not a descent direction, so the search
    # followed the negative gradient instead.
    steepest_descent_fallback: jax.Array


class ScaleByZoomLinesearchState(NamedTuple):
    """State of ``scale_by_zoom_linesearch``."""

    learning_rate: jax.Array  # The stepsize of the last round, 0 after a failure.
    value: jax.Array  # value_fn at the params the last update leads to.
    grad: Updates  # The gradient of value_fn there.
    info: ZoomLinesearchInfo


class _Point(NamedTuple):
    """A stepsize with the objective's value and slope along the line there."""

    stepsize: jax.Array
    value: jax.Array
    slope: jax.Array


class _Search(NamedTuple):
    """The loop state of one round of the zoom line search."""

    count: jax.Array  # int32: evaluations so far.
    last: _Point  # The last stepsize tried.
    last_grad: Updates
    decrease_error: jax.Array  # At the last stepsize tried.
    curvature_error: jax.Array
    bracketed: jax.Array  # bool: [low, high] contains an acceptable stepsize.
    done: jax.Array  # bool: the last stepsize satisfies both conditions.
    failed: jax.Array  # bool: the search stops without such a stepsize.
    # Bracket ends: ``low`` has the lower value, which need not mean the
    # smaller stepsize.
    low: _Point
    high: _Point
    # A third point for the cubic model (its slope is not used).
    reference: _Point
    # The best stepsize seen with sufficient decrease, 0 if none.
    safe: _Point
    safe_grad: Updates


def _cubic_minimizer(a: _Point, b: _Point, c: _Point) -> jax.Array:
    """Return the local minimizer of the cubic through a (value, slope), b and c.

    It is NaN or inf when the cubic has none or the points coincide, and the
    caller then rejects it.
    """
    db = b.stepsize - a.stepsize
    dc = c.stepsize - a.stepsize
    rb = b.value - a.value - a.slope * db
    rc = c.value - a.value - a.slope * dc
    denominator = (db * dc) ** 2 * (db - dc)
    cubic = (dc**2 * rb - db**2 * rc) / denominator
    quadratic = (db**3 * rc - dc**3 * rb) / denominator
    radical = quadratic * quadratic - 3 * cubic * a.slope
    return a.stepsize + (-quadratic + jnp.sqrt(radical)) / (3 * cubic)


def _quadratic_minimizer(a: _Point, b: _Point) -> jax.Array:
    """Return the minimizer of the parabola through a (value, slope) and b."""
    db = b.stepsize - a.stepsize
    curvature = (b.value - a.value - a.slope * db) / db**2
    return a.stepsize - a.slope / (2 * curvature)


def _interpolate(
    low: _Point, high: _Point, reference: _Point
) -> tuple[jax.Array, jax.Array]:
    """Return a trial stepsize inside the bracket and the bracket's width.

    The cubic model is used when its minimizer lies well inside the bracket
    (20% of the width away from both ends), else the quadratic one (10%),
    else the midpoint.
    """
    width = jnp.abs(high.stepsize - low.stepsize)
    left = jnp.minimum(low.stepsize, high.stepsize)
    right = jnp.maximum(low.stepsize, high.stepsize)

    def inside(x, margin):
        return (x > left + margin * width) & (x < right - margin * width)

    cubic = _cubic_minimizer(low, high, reference)
    quadratic = _quadratic_minimizer(low, high)
    midpoint = (low.stepsize + high.stepsize) / 2
    trial = jnp.where(
        inside(cubic, 0.2),
        cubic,
        jnp.where(inside(quadratic, 0.1), quadratic, midpoint),
    )
    return trial, width


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: float | None = None,
    tol: float = 0.0,
    increase_factor: float = 2.0,
    slope_rtol: float = 1e-4,
    curv_rtol: float = 0.9,
    approx_dec_rtol: float | None = 1e-6,
    stepsize_precision: float = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Scale updates by a stepsize that satisfies the strong Wolfe conditions.

    With params :math:`w`, updates :math:`u`, objective :math:`f` and
    :math:`\phi(\eta) = f(w + \eta u)`, the search looks for a stepsize
    :math:`\eta` with sufficient decrease and small curvature:

    .. math::

        \phi(\eta) \le \phi(0) + c_1 \eta \phi'(0) + \epsilon, \qquad
        |\phi'(\eta)| \le c_2 |\phi'(0)| + \epsilon.

    Close to a minimum, where values differ by less than rounding, the first
    condition may be replaced by the approximate one of Hager and Zhang,
    :math:`\phi'(\eta) \le (2 c_1 - 1) \phi'(0)`, accepted only where
    :math:`\phi(\eta) \le \phi(0) + c_3 |\phi(0)|`.

    The search first grows the stepsize by ``increase_factor`` until an
    interval that contains an acceptable stepsize is found, then narrows that
    interval with cubic or quadratic interpolation or bisection. If it runs
    out of steps, or the interval gets shorter than ``stepsize_precision``,
    it falls back to a stepsize with sufficient decrease seen on the way
    (while narrowing, the one with the lowest value).

    ``update`` takes the keyword arguments ``value`` and ``grad`` (the
    objective and its gradient at ``params``) and ``value_fn`` (the
    objective). Further keyword arguments go to ``value_fn``. The state
    stores the value and gradient at the new params, which
    ``value_and_grad_from_state`` reuses.

    Args:
        max_linesearch_steps: The maximum number of evaluations per round,
            >= 1.
        max_learning_rate: The largest stepsize tried, > 0, or ``None`` for
            no limit.
        tol: :math:`\epsilon`, >= 0.
        increase_factor: The growth of the stepsize while looking for an
            interval, > 1.
        slope_rtol: :math:`c_1`, in (0, 1).
        curv_rtol: :math:`c_2`, > 0 and usually in (``slope_rtol``, 1).
            ``inf`` turns the curvature condition off.
        approx_dec_rtol: :math:`c_3`, >= 0, or ``None`` to use only the
            first condition.
        stepsize_precision: The interval width below which a stepsize with
            sufficient decrease is accepted without the curvature condition.
        initial_guess_strategy: ``"one"`` starts every round at 1 (the
            choice for quasi-Newton directions); ``"keep"`` starts at the
            previous round's stepsize (the choice after SGD).
        verbose: Print a diagnostic with ``jax.debug.print`` when a round
            fails.

    Returns:
        A ``GradientTransformationExtraArgs`` with a
        ``ScaleByZoomLinesearchState``.

    Notes:
        Where optax 0.2.8 differs:

        - A round that finds no stepsize with sufficient decrease returns a
          zero update and sets ``info.failed``. The state keeps the value and
          gradient at the unchanged params. optax then takes the last
          stepsize tried, which can increase the objective, unless its value
          is not finite.
        - With ``"keep"``, a round after a failed one starts at 1. optax
          starts at the stored stepsize 0 and never moves again.
        - When the updates are not a descent direction (a non-negative or NaN
          slope :math:`\phi'(0)`), the search follows the negative gradient
          rescaled to the length of the updates, accepts a stepsize only if
          the objective does not increase, and sets
          ``info.steepest_descent_fallback``. optax searches along the ascent
          direction.
        - For complex params the slope is the real part of
          :math:`\sum g u`, the derivative of :math:`\phi` under JAX's
          gradient convention, in every evaluation.

    References:
        Nocedal and Wright, "Numerical Optimization", 2nd edition, 2006,
        Algorithms 3.5 and 3.6, https://doi.org/10.1007/978-0-387-40065-5

        Hager and Zhang, "A New Conjugate Gradient Method with Guaranteed
        Descent and an Efficient Line Search", 2005,
        https://doi.org/10.1137/030601880
    """
    name = "scale_by_zoom_linesearch"
    _validate.check_positive_int(name, "max_linesearch_steps", max_linesearch_steps)
    if max_learning_rate is not None:
        _validate.check_positive(name, "max_learning_rate", max_learning_rate)
    _validate.check_non_negative(name, "tol", tol)
    _validate.check_range(name, "increase_factor", increase_factor, 1.0, low_open=True)
    _validate.check_range(
        name, "slope_rtol", slope_rtol, 0.0, 1.0, low_open=True, high_open=True
    )
    _validate.check_range(name, "curv_rtol", curv_rtol, low=0.0, low_open=True)
    if approx_dec_rtol is not None:
        _validate.check_non_negative(name, "approx_dec_rtol", approx_dec_rtol)
    _validate.check_non_negative(name, "stepsize_precision", stepsize_precision)
    if initial_guess_strategy not in _GUESS_STRATEGIES:
        raise ValueError(
            f"{name}(initial_guess_strategy={initial_guess_strategy!r}) is not "
            f"supported; use one of {list(_GUESS_STRATEGIES)}."
        )

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        dtype = value_dtype(params)
        inf = jnp.full((), jnp.inf, dtype)
        return ScaleByZoomLinesearchState(
            learning_rate=jnp.ones((), dtype),
            value=inf,
            grad=tree.zeros_like(params),
            info=ZoomLinesearchInfo(
                num_linesearch_steps=jnp.zeros((), jnp.int32),
                decrease_error=inf,
                curvature_error=inf,
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
        value_and_grad_fn = jax.value_and_grad(value_fn)

        def cast(x):
            return jnp.asarray(x).astype(dtype)

        def evaluate(stepsize):
            candidate = tree.add_scale(params, stepsize, direction)
            new_value, new_grad = value_and_grad_fn(candidate, **fn_kwargs)
            new_value = as_scalar(call, "value_fn(...)", new_value, dtype)
            new_grad = tree.cast_like(new_grad, params)
            new_slope = directional_slope(new_grad, direction, dtype)
            return _Point(stepsize, new_value, new_slope), new_grad

        def errors(point):
            armijo = point.value - value - cast(slope_rtol) * point.stepsize * slope
            decrease = armijo
            if approx_dec_rtol is not None:
                approximate = point.slope - (2 * cast(slope_rtol) - 1) * slope
                close = point.value - value - cast(approx_dec_rtol) * jnp.abs(value)
                decrease = jnp.minimum(jnp.maximum(approximate, close), armijo)
            curvature = jnp.abs(point.slope) - cast(curv_rtol) * jnp.abs(slope)
            return violation(decrease), violation(curvature)

        if initial_guess_strategy == "one":
            guess = jnp.ones((), dtype)
        else:
            # A stepsize of 0 (after a failed round) would never move again.
            previous = state.learning_rate.astype(dtype)
            usable = (previous > 0) & jnp.isfinite(previous)
            guess = jnp.where(usable, previous, jnp.ones((), dtype))

        def keep_searching(search):
            return ~(search.done | search.failed)

        def step(search):
            # 1. The next stepsize: grow it until an interval is found, then
            # interpolate inside the interval.
            grown = jnp.where(
                search.count == 0, guess, cast(increase_factor) * search.last.stepsize
            )
            hit_max = jnp.zeros((), bool)
            if max_learning_rate is not None:
                hit_max = grown >= cast(max_learning_rate)
                grown = jnp.minimum(grown, cast(max_learning_rate))
            inner, width = _interpolate(search.low, search.high, search.reference)
            stepsize = jnp.where(search.bracketed, inner, grown)

            # 2. Evaluate and test both conditions.
            trial, trial_grad = evaluate(stepsize)
            decrease_error, curvature_error = errors(trial)
            acceptable = jnp.maximum(decrease_error, curvature_error) <= cast(tol)
            sufficient = decrease_error <= cast(tol)
            improves = sufficient & (
                ~search.bracketed | (trial.value < search.safe.value)
            )
            safe = tree.where(improves, trial, search.safe)
            safe_grad = tree.where(improves, trial_grad, search.safe_grad)

            # 3a. Interval search: the interval is found once the value stops
            # decreasing enough or the slope turns non-negative.
            high_is_trial = (decrease_error > 0) | (
                (trial.value >= search.last.value) & (search.count > 0)
            )
            low_is_trial = (trial.slope >= 0) & ~high_is_trial
            grow_low = tree.where(low_is_trial, trial, search.last)
            grow_high = tree.where(low_is_trial, search.last, trial)
            grow_bracketed = high_is_trial | low_is_trial | acceptable
            # At the largest stepsize allowed with no interval yet, the value
            # still decreases enough, so keep it without the curvature condition.
            grow_done = acceptable | (hit_max & ~grow_bracketed)

            # 3b. Zoom: replace one end of the interval by the trial stepsize.
            high_is_trial = (decrease_error > 0) | (trial.value >= search.low.value)
            high_is_low = (
                trial.slope * (search.high.stepsize - search.low.stepsize) >= 0
            ) & ~high_is_trial
            zoom_high = tree.where(
                high_is_trial,
                trial,
                tree.where(high_is_low, search.low, search.high),
            )
            zoom_low = tree.where(high_is_trial, search.low, trial)
            zoom_reference = tree.where(
                high_is_trial | high_is_low, search.high, search.low
            )
            too_narrow = width <= cast(stepsize_precision)

            bracketed = search.bracketed
            done = jnp.where(bracketed, acceptable, grow_done)
            out_of_steps = search.count + 1 >= max_linesearch_steps
            gives_up = out_of_steps | (bracketed & too_narrow & (safe.stepsize > 0))
            low = tree.where(bracketed, zoom_low, grow_low)
            return _Search(
                count=search.count + 1,
                last=trial,
                last_grad=trial_grad,
                decrease_error=decrease_error,
                curvature_error=curvature_error,
                bracketed=bracketed | grow_bracketed,
                done=done,
                failed=gives_up & ~done,
                low=low,
                high=tree.where(bracketed, zoom_high, grow_high),
                reference=tree.where(bracketed, zoom_reference, low),
                safe=safe,
                safe_grad=safe_grad,
            )

        start_point = _Point(jnp.zeros((), dtype), value, slope)
        inf = jnp.full((), jnp.inf, dtype)
        false = jnp.zeros((), bool)
        start = _Search(
            count=jnp.zeros((), jnp.int32),
            last=start_point,
            last_grad=grad,
            decrease_error=inf,
            curvature_error=inf,
            bracketed=false,
            done=false,
            failed=false,
            low=start_point,
            high=start_point,
            reference=start_point,
            safe=start_point,
            safe_grad=grad,
        )
        search = jax.lax.while_loop(keep_searching, step, start)

        # Take the last stepsize if it satisfies both conditions, else the
        # best one with sufficient decrease, else none.
        use_safe = ~search.done & (search.safe.stepsize > 0)
        chosen = tree.where(use_safe, search.safe, search.last)
        chosen_grad = tree.where(use_safe, search.safe_grad, search.last_grad)
        failed = ~(search.done | use_safe) | (fallback & ~(chosen.value <= value))
        stepsize = jnp.where(failed, jnp.zeros((), dtype), chosen.stepsize)
        if verbose:
            report_failure(name, failed, search.count, slope, value)

        new_state = ScaleByZoomLinesearchState(
            learning_rate=stepsize,
            value=jnp.where(failed, value, chosen.value),
            grad=tree.where(failed, grad, chosen_grad),
            info=ZoomLinesearchInfo(
                num_linesearch_steps=search.count,
                decrease_error=search.decrease_error,
                curvature_error=search.curvature_error,
                failed=failed,
                steepest_descent_fallback=fallback,
            ),
        )
        return scale_or_zero(stepsize, direction, failed), new_state

    return GradientTransformationExtraArgs(init_fn, update_fn)
