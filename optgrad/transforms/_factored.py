"""Memory-efficient second moments: Adafactor's factored RMS and SM3.

Both keep, for a matrix-shaped leaf, statistics per row and per column
instead of one number per element. Which axes are factored depends only on
the static leaf shapes, so ``init`` works under ``jax.jit`` and no
hyperparameter value is branched on.
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.transforms._leaf_math import inverse_sqrt, reject_complex
from optgrad.tree._math import one_minus


def _power_decay(step: jax.typing.ArrayLike, exponent: Any = 0.8) -> jax.Array:
    """Return Adafactor's second-moment decay ``1 - (step + 1)**(-exponent)``."""
    t = jnp.asarray(step).astype(jnp.float32) + 1
    return 1 - t ** (-jnp.asarray(exponent).astype(jnp.float32))


def _inverse_root(x: jax.Array) -> jax.Array:
    """Return ``x ** -0.5`` where ``x > 0`` and 0 elsewhere.

    A power rather than ``lax.rsqrt``: the two differ in the last bit, and
    optax 0.2.8 takes the power.
    """
    positive = x > 0
    return jnp.where(positive, jnp.where(positive, x, 1) ** -0.5, 0)


def _static_int(call: str, name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as a concrete Python int, because it sets state shapes."""
    is_integer_array = (
        isinstance(value, np.ndarray | np.generic | jax.Array)
        and np.ndim(value) == 0
        and jnp.issubdtype(value.dtype, jnp.integer)
    )
    if isinstance(value, bool) or not (isinstance(value, int) or is_integer_array):
        raise TypeError(
            f"{call}({name}=...) must be an integer, got {type(value).__name__} "
            f"{value!r}."
        )
    try:
        number = int(value)
    except (
        jax.errors.ConcretizationTypeError,
        jax.errors.TracerIntegerConversionError,
    ) as error:
        raise TypeError(
            f"{call}({name}=...) decides the shapes of the state, so it must be a "
            "concrete integer, but it is traced. With inject_hyperparams, list "
            f"{name!r} in static_args."
        ) from error
    if number < minimum:
        raise ValueError(
            f"{call}({name}={number}) is out of range: {name} must be >= {minimum}."
        )
    return number


def _factored_axes(
    shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int
) -> tuple[int, int] | None:
    """Return ``(second_largest_axis, largest_axis)``, or ``None`` to keep a full v.

    A leaf is factored when it has two or more axes and its second-largest
    axis has at least ``min_dim_size_to_factor`` elements. Ties go to the
    lower axis index first.
    """
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape, kind="stable")
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return int(order[-2]), int(order[-1])


def _zeros_without_axis(x: jax.Array, axis: int, dtype: Any) -> jax.Array:
    # Building the shape with eval_shape keeps the sharding of the kept axes.
    target = jax.eval_shape(functools.partial(jnp.sum, axis=axis), x)
    return jnp.zeros_like(target, dtype=dtype)


class FactoredState(NamedTuple):
    """State of ``scale_by_factored_rms``.

    Each of ``v_row``, ``v_col`` and ``v`` has a leaf for every param leaf.
    Factored leaves keep ``v_row`` and ``v_col``, with a placeholder of shape
    ``(1,)`` in ``v``. The other leaves keep a full ``v``, with placeholders
    in ``v_row`` and ``v_col``.
    """

    count: jax.Array  # int32 scalar: the number of updates so far.
    v_row: Updates  # Mean of |g|**2 over the largest axis, for factored leaves.
    v_col: Updates  # Mean of |g|**2 over the second-largest axis.
    v: Updates  # Moving average of |g|**2, for leaves that are not factored.


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: float = 0.8,
    step_offset: int = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: float = 1e-30,
    decay_rate_fn: Callable[[jax.Array, Any], Any] = _power_decay,
) -> GradientTransformation:
    r"""Divide updates by Adafactor's factored estimate of the gradients' RMS.

    The update rule and the references are in ``optgrad.adafactor``. The
    decay of the second moment at step :math:`t` (counting from 0) is
    ``decay_rate_fn(t - step_offset, decay_rate)``. The default is
    :math:`1 - (t - \text{step\_offset} + 1)^{-\text{decay\_rate}}`, which
    tends to 1. Pass a function that caps it (below 1) to keep the estimate
    adapting in long runs.

    Args:
        factored: Factor the second moment of leaves with two or more axes.
        decay_rate: The second argument of ``decay_rate_fn``, which is the
            exponent of the default schedule, >= 0.
        step_offset: Subtracted from the step count before the schedule is
            evaluated, >= 0. For fine-tuning, it is the step where the
            fine-tuning starts. Steps before it use the decay of step 0.
        min_dim_size_to_factor: Factor only leaves whose second-largest axis
            has at least this many elements, >= 1. A concrete integer.
        epsilon: Added to every squared gradient, >= 0.
        decay_rate_fn: Called as ``decay_rate_fn(step, decay_rate)``.

    Returns:
        A ``GradientTransformation`` with a ``FactoredState``.

    Notes:
        The statistics of float16 and bfloat16 params are kept in float32,
        where ``epsilon=1e-30`` is not flushed to zero (optax 0.2.8 keeps
        them in the param dtype). A statistic that is exactly zero, possible
        only with ``epsilon=0``, gives a zero update instead of NaN. optax
        0.2.8 evaluates the schedule at negative steps before
        ``step_offset``, which gives NaN for the default schedule.

    References:
        Shazeer and Stern, "Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost", 2018, https://arxiv.org/abs/1804.04235

        Zhai, Kolesnikov, Houlsby and Beyer, "Scaling Vision Transformers",
        2021, https://arxiv.org/abs/2106.04560
    """
    name = "scale_by_factored_rms"
    if decay_rate_fn is _power_decay:
        _validate.check_non_negative(name, "decay_rate", decay_rate)
    elif not callable(decay_rate_fn):
        raise TypeError(
            f"{name}(decay_rate_fn=...) must be a function of (step, decay_rate), "
            f"got {type(decay_rate_fn).__name__}."
        )
    _validate.check_non_negative(name, "step_offset", step_offset)
    _validate.check_non_negative(name, "epsilon", epsilon)
    min_size = _static_int(name, "min_dim_size_to_factor", min_dim_size_to_factor, 1)

    def init_leaf(p):
        dtype = tree.real_dtype(tree.compute_dtype(p.dtype))
        placeholder = jnp.zeros((1,), dtype)
        axes = _factored_axes(p.shape, factored, min_size)
        if axes is None:
            return placeholder, placeholder, jnp.zeros_like(p, dtype=dtype)
        second, largest = axes
        v_row = _zeros_without_axis(p, largest, dtype)
        v_col = _zeros_without_axis(p, second, dtype)
        return v_row, v_col, placeholder

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        v_row, v_col, v = tree.map_unzip(init_leaf, 3, params)
        return FactoredState(jnp.zeros([], jnp.int32), v_row, v_col, v)

    def decay_at(count):
        offset = jnp.asarray(step_offset)
        if jnp.issubdtype(offset.dtype, jnp.integer):
            step = count - offset.astype(count.dtype)
        else:
            step = count.astype(jnp.float32) - offset.astype(jnp.float32)
        # Before the offset the step would be negative, and the default
        # schedule would take a root of a negative number.
        step = jnp.maximum(step, jnp.zeros_like(step))
        return jnp.asarray(decay_rate_fn(step, decay_rate))

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        rate = decay_at(state.count)

        def leaf(g, v_row, v_col, v):
            real = v.dtype
            dtype = tree.promote(tree.compute_dtype(g.dtype), real)
            g_wide = g.astype(dtype)
            beta = rate.astype(real)
            g_sq = tree.abs_sq(g_wide).astype(real) + jnp.asarray(epsilon).astype(real)
            placeholder = jnp.zeros((1,), real)
            axes = _factored_axes(g.shape, factored, min_size)
            if axes is None:
                new_v = beta * v + (1 - beta) * g_sq
                out = g_wide * _inverse_root(new_v).astype(dtype)
                return out.astype(g.dtype), placeholder, placeholder, new_v

            second, largest = axes
            new_row = beta * v_row + (1 - beta) * jnp.mean(g_sq, axis=largest)
            new_col = beta * v_col + (1 - beta) * jnp.mean(g_sq, axis=second)
            # ``second`` indexes ``new_row`` one lower when it comes after the
            # removed largest axis.
            row_axis = second - 1 if second > largest else second
            row_mean = jnp.mean(new_row, axis=row_axis, keepdims=True)
            positive = row_mean > 0
            normalized = jnp.where(
                positive, new_row / jnp.where(positive, row_mean, 1), 0
            )
            row_factor = jnp.expand_dims(_inverse_root(normalized), largest)
            col_factor = jnp.expand_dims(_inverse_root(new_col), second)
            out = g_wide * row_factor.astype(dtype) * col_factor.astype(dtype)
            return out.astype(g.dtype), new_row, new_col, placeholder

        updates, v_row, v_col, v = tree.map_unzip(
            leaf, 4, updates, state.v_row, state.v_col, state.v
        )
        count = safe_increment(state.count)
        return updates, FactoredState(count, v_row, v_col, v)

    return GradientTransformation(init_fn, update_fn)


class ScaleBySM3State(NamedTuple):
    """State of ``scale_by_sm3``."""

    # For each param leaf, a list with one accumulator vector per axis (one
    # array shaped like the leaf for 0- and 1-axis leaves).
    mu: Updates
    nu: Updates  # Momentum: moving average of the scaled gradients.


def _expand_to_axis(vector: jax.Array, axis: int, ndim: int) -> jax.Array:
    """Reshape a vector so that it runs along ``axis`` of an ``ndim``-axis array."""
    shape = [1] * ndim
    shape[axis] = vector.shape[0]
    return vector.reshape(shape)


def scale_by_sm3(
    b1: float = 0.9, b2: float = 1.0, eps: float = 1e-8
) -> GradientTransformation:
    """Rescale updates with SM3's per-axis accumulators of squared gradients.

    The update rule and the reference are in ``optgrad.sm3``.

    Args:
        b1: Momentum decay rate, in [0, 1].
        b2: Decay of the accumulators, in [0, 1]. With 1 (the default) the
            squared gradients are summed, as in the paper. Below 1 they are
            averaged with weight ``1 - b2``.
        eps: Added inside the root, >= 0.

    Returns:
        A ``GradientTransformation`` with a ``ScaleBySM3State``.

    Raises:
        TypeError: At ``init``, for complex params.
    """
    name = "scale_by_sm3"
    _validate.check_range(name, "b1", b1, 0.0, 1.0)
    _validate.check_range(name, "b2", b2, 0.0, 1.0)
    _validate.check_non_negative(name, "eps", eps)

    def init_leaf(p):
        dtype = tree.compute_dtype(p.dtype)
        if p.ndim <= 1:
            return [jnp.zeros_like(p, dtype=dtype)]
        return [_zeros_without_axis_but(p, axis, dtype) for axis in range(p.ndim)]

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        reject_complex(name, params)
        mu = jax.tree.map(init_leaf, params)
        return ScaleBySM3State(mu=mu, nu=tree.moment_zeros_like(params))

    def leaf(g, accumulators, m):
        dtype = tree.promote(tree.compute_dtype(g.dtype), m.dtype)
        g_wide = g.astype(dtype)
        decay = jnp.asarray(b2).astype(dtype)
        momentum = jnp.asarray(b1).astype(dtype)

        # Each element reads the smallest of the accumulators that cover it.
        if g.ndim <= 1:
            previous = accumulators[0].astype(dtype)
        else:
            expanded = [
                _expand_to_axis(a.astype(dtype), axis, g.ndim)
                for axis, a in enumerate(accumulators)
            ]
            previous = functools.reduce(jnp.minimum, expanded)
        # The paper sums squared gradients, and b2 < 1 turns the sum into a
        # moving average.
        grad_weight = jnp.where(decay == 1, jnp.ones_like(decay), 1 - decay)
        total = grad_weight * g_wide * g_wide + decay * previous

        factor = jnp.where(
            total > 0, inverse_sqrt(total + jnp.asarray(eps).astype(dtype)), 0
        )
        new_m = one_minus(b1, dtype) * (g_wide * factor) + momentum * m.astype(dtype)

        # Each accumulator keeps the largest total along its axis.
        if g.ndim <= 1:
            new_accumulators = [total]
        else:
            new_accumulators = [
                jnp.max(total, axis=_other_axes(axis, g.ndim), initial=0)
                for axis in range(g.ndim)
            ]
        new_accumulators = [
            a.astype(old.dtype)
            for a, old in zip(new_accumulators, accumulators, strict=True)
        ]
        return new_m.astype(g.dtype), new_accumulators, new_m.astype(m.dtype)

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.nu", state.nu),
        )
        updates, mu, nu = tree.map_unzip(leaf, 3, updates, state.mu, state.nu)
        return updates, ScaleBySM3State(mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


def _other_axes(axis: int, ndim: int) -> tuple[int, ...]:
    return tuple(i for i in range(ndim) if i != axis)


def _zeros_without_axis_but(x: jax.Array, axis: int, dtype: Any) -> jax.Array:
    """Return zeros shaped like axis ``axis`` of ``x`` alone."""
    target = jax.eval_shape(
        functools.partial(jnp.sum, axis=_other_axes(axis, x.ndim)), x
    )
    return jnp.zeros_like(target, dtype=dtype)
