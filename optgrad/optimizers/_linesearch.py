"""Helpers shared by the line searches, and ``value_and_grad_from_state``.

A line search is a transform whose ``update`` receives, besides the usual
arguments, the objective ``value_fn``, its ``value`` and its ``grad`` at the
current params. It scales the incoming updates (the search direction) by a
stepsize that decreases the objective.
"""

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import tree
from optgrad._typing import Params, Updates
from optgrad.tree._dtypes import leaf_dtype


def value_dtype(params: Params) -> Any:
    """Return the real dtype in which a line search keeps values and stepsizes.

    It is the widest real compute dtype of the params: float32 for 16-bit and
    float32 params, float64 for float64 params.
    """
    leaves = jax.tree.leaves(params)
    if not leaves:
        return jnp.dtype(jnp.float32)
    return tree.promote(
        *[tree.real_dtype(tree.compute_dtype(leaf_dtype(x))) for x in leaves]
    )


def as_scalar(call: str, name: str, value: Any, dtype: Any) -> jax.Array:
    """Return ``value`` as a real scalar of ``dtype``, else raise ``ValueError``."""
    value = jnp.asarray(value)
    if value.ndim != 0:
        raise ValueError(
            f"{call}: {name} must be a scalar, got an array of shape {value.shape}. "
            "Make the objective return a single number, for example the mean loss."
        )
    return jnp.real(value).astype(dtype)


def value_fn_kwargs(
    call: str, value_fn: Callable[..., Any], extra_args: dict[str, Any]
) -> dict[str, Any]:
    """Return the keyword arguments of ``update`` that go to ``value_fn``.

    Raises:
        TypeError: If ``value_fn`` does not accept one of them.
    """
    try:
        signature = inspect.signature(value_fn)
    except (TypeError, ValueError):
        return dict(extra_args)
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(extra_args)
    accepted = {
        p.name
        for p in parameters
        if p.kind
        in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    unused = sorted(set(extra_args) - accepted)
    if unused:
        raise TypeError(
            f"{call}: value_fn does not accept the keyword arguments {unused} that "
            "were passed to update. Pass only the extra inputs value_fn takes, such "
            "as a data batch, under the names of its parameters."
        )
    return dict(extra_args)


def check_inputs(
    call: str,
    updates: Updates,
    params: Params | None,
    value: Any,
    grad: Updates | None,
    value_fn: Any,
) -> None:
    """Raise ``TypeError`` for a missing input of ``update``, ``ValueError`` for
    trees that do not match the params."""
    missing = [
        name
        for name, argument in (
            ("params", params),
            ("value", value),
            ("grad", grad),
            ("value_fn", value_fn),
        )
        if argument is None
    ]
    if missing:
        raise TypeError(
            f"{call} needs {', '.join(missing)}, but update was called without "
            f"{'it' if len(missing) == 1 else 'them'}. Call update(updates, state, "
            "params, value=value, grad=grad, value_fn=objective), where value and "
            "grad are the objective and its gradient at params."
        )
    if not callable(value_fn):
        raise TypeError(
            f"{call}: value_fn must be the objective function, got "
            f"{type(value_fn).__name__}."
        )
    tree.check_same_shapes(
        call, ("updates", updates), ("params", params), ("grad", grad)
    )


def check_objective(
    call: str, value_fn: Callable[..., Any], params: Params, fn_kwargs: dict
) -> None:
    """Raise ``ValueError`` unless ``value_fn`` returns a scalar (traced, not run)."""
    output = jax.eval_shape(lambda p: value_fn(p, **fn_kwargs), params)
    shape = getattr(output, "shape", None)
    if shape != ():
        raise ValueError(
            f"{call}: value_fn(params) must return a scalar, got "
            f"{'an array of shape ' + str(shape) if shape is not None else output}. "
            "Make the objective return a single number, for example the mean loss."
        )


def directional_slope(grad: Updates, direction: Updates, dtype: Any) -> jax.Array:
    """Return the derivative of ``t -> f(params + t * direction)`` at ``t = 0``.

    ``grad`` is the gradient as ``jax.grad`` returns it. For complex params
    that is the conjugate of the ascent direction, so the derivative is the
    real part of ``sum(grad * direction)`` without a conjugate.
    """
    return jnp.real(tree.vdot(tree.conj(grad), direction)).astype(dtype)


def descent_direction(
    updates: Updates, grad: Updates, dtype: Any
) -> tuple[Updates, jax.Array, jax.Array]:
    """Return a descent direction, its slope and whether ``updates`` was replaced.

    ``updates`` is kept when its slope is negative. Otherwise (a positive or
    zero slope, or a NaN) it is replaced by the negative gradient, rescaled to
    the length of ``updates`` when that length is finite and nonzero and to
    ``min(1, 1 / |grad|)`` otherwise.
    """
    slope = directional_slope(grad, updates, dtype)
    replaced = ~(slope < 0)

    grad_norm = tree.norm(grad).astype(dtype)
    updates_norm = tree.norm(updates).astype(dtype)
    usable = (
        jnp.isfinite(updates_norm)
        & (updates_norm > 0)
        & jnp.isfinite(grad_norm)
        & (grad_norm > 0)
    )
    one = jnp.ones((), dtype)
    safe_grad_norm = jnp.where(grad_norm > 0, grad_norm, one)
    factor = jnp.where(
        usable,
        updates_norm / safe_grad_norm,
        jnp.minimum(one, one / safe_grad_norm),
    )
    steepest = tree.cast_like(tree.scale(-factor, tree.conj(grad)), updates)

    direction = tree.where(replaced, steepest, updates)
    slope = jnp.where(replaced, directional_slope(grad, direction, dtype), slope)
    return direction, slope, replaced


class RoundInputs(NamedTuple):
    """The checked inputs of one line search round."""

    fn_kwargs: dict[str, Any]  # Keyword arguments for value_fn.
    dtype: Any  # The dtype of values and stepsizes (see value_dtype).
    value: jax.Array  # The objective at the params, as a scalar of dtype.
    grad: Updates  # Its gradient, cast to the params' dtypes.
    direction: Updates  # The search direction (see descent_direction).
    slope: jax.Array  # The derivative of the objective along it.
    fallback: jax.Array  # bool: the updates were replaced by steepest descent.


def start_round(
    call: str,
    updates: Updates,
    params: Params | None,
    value: Any,
    grad: Updates | None,
    value_fn: Any,
    extra_args: dict[str, Any],
) -> RoundInputs:
    """Check the inputs of a line search ``update`` and choose the direction."""
    check_inputs(call, updates, params, value, grad, value_fn)
    fn_kwargs = value_fn_kwargs(call, value_fn, extra_args)
    check_objective(call, value_fn, params, fn_kwargs)
    dtype = value_dtype(params)
    value = as_scalar(call, "value", value, dtype)
    grad = tree.cast_like(grad, params)
    direction, slope, fallback = descent_direction(updates, grad, dtype)
    return RoundInputs(fn_kwargs, dtype, value, grad, direction, slope, fallback)


def scale_or_zero(
    stepsize: jax.Array, direction: Updates, failed: jax.Array
) -> Updates:
    """Return ``stepsize * direction``, or exact zeros where ``failed`` holds.

    A select rather than a product, so a NaN in ``direction`` cannot leak
    into the zero update of a failed search.
    """
    scaled = tree.scale(stepsize, direction)
    return jax.tree.map(lambda x: jnp.where(failed, jnp.zeros_like(x), x), scaled)


def violation(error: jax.Array) -> jax.Array:
    """Clip a condition's error at 0 and map NaN to inf (a failed evaluation)."""
    return jnp.where(jnp.isnan(error), jnp.inf, jnp.maximum(error, 0))


def report_failure(
    call: str, failed: jax.Array, count: jax.Array, slope: jax.Array, value: jax.Array
) -> None:
    """Print why a line search round failed, only when it did."""

    def show():
        jax.debug.print(
            call + ": no stepsize with sufficient decrease after {count} evaluations "
            "(value {value}, slope {slope}); the params are left unchanged.",
            count=count,
            value=value,
            slope=slope,
        )

    jax.lax.cond(failed, show, lambda: None)


# ---------------------------------------------------------------------------
# Reusing the value and gradient that a line search stored


def _find_fields(node: Any, field: str, path: str, found: list) -> None:
    """Collect ``(path, value)`` for every NamedTuple field or dict key ``field``."""
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        items = [(name, f".{name}", getattr(node, name)) for name in node._fields]
    elif isinstance(node, dict):
        items = [(key, f"[{key!r}]", child) for key, child in node.items()]
    elif isinstance(node, list | tuple):
        items = [(None, f"[{i}]", child) for i, child in enumerate(node)]
    else:
        return
    for key, step, child in items:
        if key == field:
            found.append((path + step, child))
        else:
            _find_fields(child, field, path + step, found)


def _find_one(state: Any, field: str) -> Any:
    found: list = []
    _find_fields(state, field, "state", found)
    if len(found) == 1:
        return found[0][1]
    if not found:
        raise ValueError(
            f"value_and_grad_from_state: the optimizer state has no {field!r} field. "
            "Use an optimizer that ends with a line search such as "
            "scale_by_zoom_linesearch, which stores the value and gradient."
        )
    paths = ", ".join(path for path, _ in found)
    raise ValueError(
        f"value_and_grad_from_state: the optimizer state has {len(found)} "
        f"{field!r} fields ({paths}), so the one to reuse is ambiguous. Chain a "
        "single line search."
    )


def value_and_grad_from_state(
    value_fn: Callable[..., Any],
) -> Callable[..., tuple[jax.Array, Updates]]:
    """Build a ``jax.value_and_grad`` that reuses what a line search stored.

    A line search evaluates the objective and its gradient at the params it
    returns. For a deterministic objective those are the value and gradient
    of the next iteration, so computing them again is wasted work.

    The returned function is called as ``fn(params, *args, state=opt_state,
    **kwargs)``. It finds the single ``value`` and ``grad`` fields in the
    state and returns them while the value is finite. Otherwise (at the
    first iteration the stored value is ``inf``) it returns
    ``jax.value_and_grad(value_fn)(params, *args, **kwargs)``.

    Args:
        value_fn: The objective, which returns a scalar.

    Returns:
        The function described above.

    Raises:
        ValueError: When called, if the state has no ``value`` or ``grad``
            field, more than one, or a ``grad`` of ``None`` (a backtracking
            line search built without ``store_grad=True``).

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> def f(x):
        ...     return jnp.sum((x - 1.0) ** 2)
        >>> opt = optgrad.lbfgs()
        >>> params = jnp.zeros(3)
        >>> state = opt.init(params)
        >>> value_and_grad = optgrad.value_and_grad_from_state(f)
        >>> for _ in range(3):
        ...     value, grad = value_and_grad(params, state=state)
        ...     updates, state = opt.update(
        ...         grad, state, params, value=value, grad=grad, value_fn=f
        ...     )
        ...     params = optgrad.apply_updates(params, updates)
        >>> print(f"{float(f(params)):.1e}")
        0.0e+00
    """
    if not callable(value_fn):
        raise TypeError(
            "value_and_grad_from_state(value_fn=...) must be the objective "
            f"function, got {type(value_fn).__name__}."
        )
    compute = jax.value_and_grad(value_fn)

    def value_and_grad(params, *args, state, **kwargs):
        value = _find_one(state, "value")
        grad = _find_one(state, "grad")
        if grad is None:
            raise ValueError(
                "value_and_grad_from_state: the optimizer state stores a value but "
                "no gradient. Build scale_by_backtracking_linesearch with "
                "store_grad=True."
            )
        value = jnp.asarray(value)

        def fresh():
            new_value, new_grad = compute(params, *args, **kwargs)
            new_value = jnp.asarray(new_value).astype(value.dtype)
            return new_value, tree.cast_like(new_grad, grad)

        return jax.lax.cond(jnp.isfinite(value), lambda: (value, grad), fresh)

    return value_and_grad
