"""Rescaling by running sums and averages of squared gradients.

``scale_by_rss`` (Adagrad), ``scale_by_rms`` and ``scale_by_stddev``
(RMSProp) and ``scale_by_adadelta``. Accumulators of squared magnitudes are
stored in ``_leaf_math.square_dtype``: float32 for 16-bit and complex64
params, float64 for float64 and complex128 params.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.transforms._leaf_math import inverse, inverse_sqrt, squares_like


def _leaf_dtypes(g: jax.Array, state_leaf: jax.Array) -> tuple[Any, Any]:
    """Return the compute dtype of a leaf and its real counterpart."""
    dtype = tree.promote(
        tree.compute_dtype(g.dtype), tree.compute_dtype(state_leaf.dtype)
    )
    return dtype, tree.real_dtype(dtype)


def _bias_correction(decay: Any, count: jax.Array) -> jax.Array:
    """Return ``1 - decay**count`` in float32."""
    return 1 - jnp.asarray(decay).astype(jnp.float32) ** count.astype(jnp.float32)


def _rms_scale(
    second_moment: jax.Array, eps: Any, eps_in_sqrt: bool, dtype: Any
) -> jax.Array:
    """Return ``1 / sqrt(v + eps)`` or ``1 / (sqrt(v) + eps)``, or 0 for a zero root."""
    eps = jnp.asarray(eps).astype(dtype)
    if eps_in_sqrt:
        return inverse_sqrt(second_moment + eps)
    return inverse(tree.safe_sqrt(second_moment) + eps)


class ScaleByRssState(NamedTuple):
    """State of ``scale_by_rss``."""

    sum_of_squares: Updates  # Sum of |g|**2 over all steps, plus the initial value.


def scale_by_rss(
    initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """Divide updates by the root of the sum of all squared gradients so far.

    The update rule and the reference are in ``optgrad.adagrad``.

    Args:
        initial_accumulator_value: The starting value of the sum, >= 0.
        eps: Added to the sum inside the root, >= 0.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByRssState``.
    """
    name = "scale_by_rss"
    _validate.check_non_negative(
        name, "initial_accumulator_value", initial_accumulator_value
    )
    _validate.check_non_negative(name, "eps", eps)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByRssState(squares_like(params, initial_accumulator_value))

    def leaf(g, total):
        dtype, real = _leaf_dtypes(g, total)
        g_wide = g.astype(dtype)
        new_total = total.astype(real) + tree.abs_sq(g_wide).astype(real)
        # A zero sum means every gradient so far was zero: the update is 0.
        factor = jnp.where(
            new_total > 0, inverse_sqrt(new_total + jnp.asarray(eps).astype(real)), 0
        )
        return (g_wide * factor.astype(dtype)).astype(g.dtype), new_total.astype(
            total.dtype
        )

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.sum_of_squares", state.sum_of_squares),
        )
        updates, totals = tree.map_unzip(leaf, 2, updates, state.sum_of_squares)
        return updates, ScaleByRssState(totals)

    return GradientTransformation(init_fn, update_fn)


class ScaleByRmsState(NamedTuple):
    """State of ``scale_by_rms`` without bias correction."""

    nu: Updates  # Moving average of |g|**2.


class ScaleByRmsWithCountState(NamedTuple):
    """State of ``scale_by_rms`` with ``bias_correction=True``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    nu: Updates  # Moving average of |g|**2.


class ScaleByRStdDevState(NamedTuple):
    """State of ``scale_by_stddev`` without bias correction."""

    mu: Updates  # Moving average of the gradients.
    nu: Updates  # Moving average of |g|**2.


class ScaleByRStdDevWithCountState(NamedTuple):
    """State of ``scale_by_stddev`` with ``bias_correction=True``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    mu: Updates  # Moving average of the gradients.
    nu: Updates  # Moving average of |g|**2.


# The state class for each (centered, bias_correction) pair.
_RMS_STATES = {
    (False, False): ScaleByRmsState,
    (False, True): ScaleByRmsWithCountState,
    (True, False): ScaleByRStdDevState,
    (True, True): ScaleByRStdDevWithCountState,
}


def check_rms_args(
    name: str, decay: Any, eps: Any, initial_scale: Any, bias_correction: bool
) -> None:
    """Check the hyperparameters of RMSProp, naming the call ``name`` in errors."""
    if bias_correction:
        # 1 - decay**count is zero for decay = 1.
        _validate.check_decay(name, "decay", decay)
    else:
        _validate.check_range(name, "decay", decay, 0.0, 1.0)
    _validate.check_non_negative(name, "eps", eps)
    _validate.check_non_negative(name, "initial_scale", initial_scale)


def _moving_rms(
    name: str,
    centered: bool,
    decay: Any,
    eps: Any,
    initial_scale: Any,
    eps_in_sqrt: bool,
    bias_correction: bool,
) -> GradientTransformation:
    """Build ``scale_by_rms`` or, with ``centered``, ``scale_by_stddev``."""
    check_rms_args(name, decay, eps, initial_scale, bias_correction)
    state_class = _RMS_STATES[(centered, bias_correction)]

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        fields = {"nu": squares_like(params, initial_scale)}
        if centered:
            fields["mu"] = tree.moment_zeros_like(params)
        if bias_correction:
            fields["count"] = jnp.zeros([], jnp.int32)
        return state_class(**fields)

    def update_fn(updates, state, params=None):
        moments = [("state.nu", state.nu)]
        if centered:
            moments.append(("state.mu", state.mu))
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params), *moments
        )
        if bias_correction:
            count = safe_increment(state.count)
            correction = _bias_correction(decay, count)

        def leaf(g, v, m=None):
            dtype, real = _leaf_dtypes(g, v)
            if centered:
                dtype = tree.promote(dtype, tree.compute_dtype(m.dtype))
            g_wide = g.astype(dtype)
            beta = jnp.asarray(decay).astype(real)
            g_sq = tree.abs_sq(g_wide).astype(real)
            new_v = (1 - beta) * g_sq + beta * v.astype(real)
            v_hat = new_v / correction.astype(real) if bias_correction else new_v
            outputs = [new_v.astype(v.dtype)]

            if centered:
                beta_wide = beta.astype(dtype)
                new_m = (1 - beta_wide) * g_wide + beta_wide * m.astype(dtype)
                m_hat = new_m / correction.astype(dtype) if bias_correction else new_m
                # Rounding can make the variance slightly negative.
                v_hat = jnp.maximum(v_hat - tree.abs_sq(m_hat).astype(real), 0)
                outputs.append(new_m.astype(m.dtype))

            factor = _rms_scale(v_hat, eps, eps_in_sqrt, real)
            return ((g_wide * factor.astype(dtype)).astype(g.dtype), *outputs)

        if centered:
            updates, nu, mu = tree.map_unzip(leaf, 3, updates, state.nu, state.mu)
            fields = {"nu": nu, "mu": mu}
        else:
            updates, nu = tree.map_unzip(leaf, 2, updates, state.nu)
            fields = {"nu": nu}
        if bias_correction:
            fields["count"] = count
        return updates, state_class(**fields)

    return GradientTransformation(init_fn, update_fn)


def scale_by_rms(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """Divide updates by the root of a moving average of squared gradients.

    The update rule, the options and the references are in
    ``optgrad.rmsprop``. With ``decay=b2``, ``eps_in_sqrt=False`` and
    ``bias_correction=True`` the result equals ``scale_by_adam(b1=0, b2=b2)``
    without storing a first moment.

    Args:
        decay: Decay rate of the average, in [0, 1] ([0, 1) with
            ``bias_correction``).
        eps: Added to the denominator, >= 0.
        initial_scale: The starting value of the average, >= 0.
        eps_in_sqrt: Add ``eps`` inside the root rather than outside.
        bias_correction: Divide the average by ``1 - decay**t``.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByRmsState``, or a
        ``ScaleByRmsWithCountState`` with ``bias_correction=True``.
    """
    return _moving_rms(
        "scale_by_rms",
        False,
        decay,
        eps,
        initial_scale,
        eps_in_sqrt,
        bias_correction,
    )


def scale_by_stddev(
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """Divide updates by a running estimate of the gradients' standard deviation.

    This is the centered RMSProp of ``optgrad.rmsprop(centered=True)``, where
    the update rule and the references are. The variance estimate
    ``nu - |mu|**2`` is clipped at zero, so that rounding cannot make the
    root of a negative number.

    Args:
        decay: Decay rate of both averages, in [0, 1] ([0, 1) with
            ``bias_correction``).
        eps: Added to the denominator, >= 0.
        initial_scale: The starting value of ``nu``, >= 0.
        eps_in_sqrt: Add ``eps`` inside the root rather than outside.
        bias_correction: Divide both averages by ``1 - decay**t``.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByRStdDevState``, or a
        ``ScaleByRStdDevWithCountState`` with ``bias_correction=True``.
    """
    return _moving_rms(
        "scale_by_stddev",
        True,
        decay,
        eps,
        initial_scale,
        eps_in_sqrt,
        bias_correction,
    )


class ScaleByAdaDeltaState(NamedTuple):
    """State of ``scale_by_adadelta``."""

    e_g: Updates  # Moving average of |g|**2.
    e_x: Updates  # Moving average of the squared outgoing updates.


def scale_by_adadelta(rho: float = 0.9, eps: float = 1e-6) -> GradientTransformation:
    """Rescale updates by the ratio of past update and gradient magnitudes.

    The update rule and the reference are in ``optgrad.adadelta``.

    Args:
        rho: Decay rate of both moving averages, in [0, 1].
        eps: Added inside both roots, > 0. With ``eps = 0`` the average of
            squared updates stays zero and the params never move.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAdaDeltaState``.
    """
    name = "scale_by_adadelta"
    _validate.check_range(name, "rho", rho, 0.0, 1.0)
    _validate.check_positive(name, "eps", eps)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByAdaDeltaState(e_g=squares_like(params), e_x=squares_like(params))

    def leaf(g, e_g, e_x):
        dtype, real = _leaf_dtypes(g, e_g)
        g_wide = g.astype(dtype)
        decay = jnp.asarray(rho).astype(real)
        offset = jnp.asarray(eps).astype(real)
        new_e_g = (1 - decay) * tree.abs_sq(g_wide).astype(real) + decay * e_g.astype(
            real
        )
        ratio = jnp.sqrt(e_x.astype(real) + offset) / jnp.sqrt(new_e_g + offset)
        out = ratio.astype(dtype) * g_wide
        new_e_x = (1 - decay) * tree.abs_sq(out).astype(real) + decay * e_x.astype(real)
        return out.astype(g.dtype), new_e_g.astype(e_g.dtype), new_e_x.astype(e_x.dtype)

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.e_g", state.e_g),
            ("state.e_x", state.e_x),
        )
        updates, e_g, e_x = tree.map_unzip(leaf, 3, updates, state.e_g, state.e_x)
        return updates, ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)

    return GradientTransformation(init_fn, update_fn)
