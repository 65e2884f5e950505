"""Variants of Adam's moment ratio: AMSGrad, Adamax, RAdam, Yogi, AdaBelief."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad._typing import Updates
from optgrad.transforms._adam import ScaleByAdamState, _bias_correction
from optgrad.transforms._leaf import cast_to, compute_dtype_of


def _check_moment_args(call: str, b1: Any, b2: Any, eps: Any, eps_root: Any):
    _validate.check_decay(call, "b1", b1)
    _validate.check_decay(call, "b2", b2)
    _validate.check_non_negative(call, "eps", eps)
    _validate.check_non_negative(call, "eps_root", eps_root)


def _corrected_first_moment(
    new_m: jax.Array,
    g: jax.Array,
    beta1: jax.Array,
    correction: jax.Array,
    correction_next: jax.Array,
    nesterov: bool,
) -> jax.Array:
    """Return the bias-corrected first moment, or Nadam's look-ahead version."""
    if nesterov:
        return beta1 * (new_m / correction_next) + (1 - beta1) * (g / correction)
    return new_m / correction


def _check_adam_state(
    call: str, updates: Any, params: Any, state: Any, *more: tuple[str, Any]
) -> None:
    tree.check_same_shapes(
        call,
        ("updates", updates),
        ("params", params),
        ("state.mu", state.mu),
        ("state.nu", state.nu),
        *more,
    )


def _adam_state_init(call: str, mu_dtype: Any = None, fill: float = 0.0):
    """Return an ``init`` that builds a ``ScaleByAdamState`` filled with ``fill``."""

    def init_fn(params):
        tree.check_float_params(f"{call}.init", params)
        mu = tree.moment_zeros_like(params, mu_dtype)
        nu = tree.moment_zeros_like(params)
        if fill != 0.0:
            mu = jax.tree.map(lambda x: jnp.full_like(x, fill), mu)
            nu = jax.tree.map(lambda x: jnp.full_like(x, fill), nu)
        return ScaleByAdamState(count=jnp.zeros([], jnp.int32), mu=mu, nu=nu)

    return init_fn


class ScaleByAmsgradState(NamedTuple):
    """State of ``scale_by_amsgrad``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    mu: Updates  # First moment: moving average of the gradients.
    nu: Updates  # Second moment: moving average of the squared gradients.
    nu_max: Updates  # Running maximum of the (corrected) second moment.


def scale_by_amsgrad(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    """Rescale updates by AMSGrad's ratio of moment estimates.

    The maths and the reference are in ``optgrad.amsgrad``. Moments of
    float16 and bfloat16 params are kept in float32 unless ``mu_dtype``
    sets another dtype (the second moment and its maximum always are).

    Args:
        b1: Decay rate of the first moment, in [0, 1).
        b2: Decay rate of the second moment, in [0, 1).
        eps: Added to the root of the second moment, >= 0.
        eps_root: Added to the second moment inside the root, >= 0.
        mu_dtype: The first moment's dtype; see above for the default.
        bias_correction_mu: Divide the first moment by ``1 - b1**t``.
        bias_correction_nu: Divide the second moment by ``1 - b2**t`` before
            taking the running maximum.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAmsgradState``.
    """
    name = "scale_by_amsgrad"
    _check_moment_args(name, b1, b2, eps, eps_root)
    _validate.check_dtype(name, "mu_dtype", mu_dtype)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByAmsgradState(
            count=jnp.zeros([], jnp.int32),
            mu=tree.moment_zeros_like(params, mu_dtype),
            nu=tree.moment_zeros_like(params),
            nu_max=tree.moment_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        _check_adam_state(
            f"{name}.update", updates, params, state, ("state.nu_max", state.nu_max)
        )
        count = safe_increment(state.count)
        correction1 = _bias_correction(b1, count)
        correction2 = _bias_correction(b2, count)

        def leaf(g, m, v, v_max):
            dtype = compute_dtype_of(g, m, v, v_max)
            g_wide, m_old, v_old, v_max_old = cast_to(dtype, g, m, v, v_max)
            beta1, beta2, c1, c2 = cast_to(dtype, b1, b2, correction1, correction2)
            new_m = (1 - beta1) * g_wide + beta1 * m_old
            new_v = (1 - beta2) * tree.abs_sq(g_wide).astype(dtype) + beta2 * v_old
            m_hat = new_m / c1 if bias_correction_mu else new_m
            v_eff = new_v / c2 if bias_correction_nu else new_v
            new_v_max = jnp.maximum(v_max_old, v_eff)
            eps_root_, eps_ = cast_to(dtype, eps_root, eps)
            out = m_hat / (jnp.sqrt(new_v_max + eps_root_) + eps_)
            return (
                out.astype(g.dtype),
                new_m.astype(m.dtype),
                new_v.astype(v.dtype),
                new_v_max.astype(v_max.dtype),
            )

        updates, mu, nu, nu_max = tree.map_unzip(
            leaf, 4, updates, state.mu, state.nu, state.nu_max
        )
        return updates, ScaleByAmsgradState(count, mu, nu, nu_max)

    return GradientTransformation(init_fn, update_fn)


def scale_by_adamax(
    b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Rescale updates by Adamax's ratio of the first moment to the max norm.

    The maths and the reference are in ``optgrad.adamax``. Both moments of
    float16 and bfloat16 params are kept in float32, where ``eps=1e-8`` is
    not zero.

    Args:
        b1: Decay rate of the first moment, in [0, 1).
        b2: Decay rate of the running maximum of ``|g|``, in [0, 1].
        eps: Added to ``|g|`` before the maximum; > 0 keeps zero gradients
            from dividing zero by zero.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAdamState``, whose ``nu``
        is the running maximum.
    """
    name = "scale_by_adamax"
    _validate.check_decay(name, "b1", b1)
    _validate.check_range(name, "b2", b2, 0.0, 1.0)
    _validate.check_non_negative(name, "eps", eps)
    init_fn = _adam_state_init(name)

    def update_fn(updates, state, params=None):
        _check_adam_state(f"{name}.update", updates, params, state)
        count = safe_increment(state.count)
        correction1 = _bias_correction(b1, count)

        def leaf(g, m, v):
            dtype = compute_dtype_of(g, m, v)
            g_wide, m_old, v_old = cast_to(dtype, g, m, v)
            beta1, beta2, eps_, c1 = cast_to(dtype, b1, b2, eps, correction1)
            new_m = (1 - beta1) * g_wide + beta1 * m_old
            magnitude = jnp.abs(g_wide).astype(dtype)
            new_v = jnp.maximum(magnitude + eps_, beta2 * v_old)
            out = (new_m / c1) / new_v
            return out.astype(g.dtype), new_m.astype(m.dtype), new_v.astype(v.dtype)

        updates, mu, nu = tree.map_unzip(leaf, 3, updates, state.mu, state.nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


def _radam_rectification(b2: Any, count: jax.Array, threshold: Any):
    """Return RAdam's factor ``r_t`` and whether it applies at ``count``.

    ``rho_t`` is the length of the approximated simple moving average; the
    variance of the adaptive step is tractable once it reaches ``threshold``.
    """
    beta2 = jnp.asarray(b2).astype(jnp.float32)
    known_b2 = _validate.concrete_scalar(b2)
    if known_b2 is None:
        rho_inf = 2 / (1 - beta2) - 1
    else:
        # Computed in double precision when b2 is known, then rounded once.
        rho_inf = jnp.asarray(2 / (1 - known_b2) - 1, jnp.float32)
    beta2_t = beta2 ** count.astype(jnp.float32)
    rho = rho_inf - 2 * count.astype(jnp.float32) * beta2_t / (1 - beta2_t)
    rectify = rho >= jnp.asarray(threshold).astype(jnp.float32)
    ratio = (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
    # Below rho = 4 the ratio is negative; it is replaced before the root so
    # that neither value nor gradient becomes NaN where it is not used.
    safe_ratio = jnp.where(rectify & (ratio > 0), ratio, jnp.zeros_like(ratio))
    return tree.safe_sqrt(safe_ratio), rectify


def scale_by_radam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    threshold: float = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Rescale updates by Rectified Adam's moment ratio.

    The maths and the reference are in ``optgrad.radam``. Moments of float16
    and bfloat16 params are kept in float32.

    Args:
        b1: Decay rate of the first moment, in [0, 1).
        b2: Decay rate of the second moment, in [0, 1).
        eps: Added to the root of the second moment, >= 0.
        eps_root: Added to the second moment inside the root, >= 0.
        threshold: The value of ``rho_t`` from which the adaptive step is
            used; before it the update is the corrected first moment.
        nesterov: Use Nesterov momentum in the first moment.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAdamState``.
    """
    name = "scale_by_radam"
    _check_moment_args(name, b1, b2, eps, eps_root)
    _validate.check_range(name, "threshold", threshold)
    init_fn = _adam_state_init(name)

    def update_fn(updates, state, params=None):
        _check_adam_state(f"{name}.update", updates, params, state)
        count = safe_increment(state.count)
        correction1 = _bias_correction(b1, count)
        correction1_next = _bias_correction(b1, safe_increment(count))
        correction2 = _bias_correction(b2, count)
        factor, rectify = _radam_rectification(b2, count, threshold)

        def leaf(g, m, v):
            dtype = compute_dtype_of(g, m, v)
            g_wide, m_old, v_old = cast_to(dtype, g, m, v)
            beta1, beta2, c1, c1_next, c2 = cast_to(
                dtype, b1, b2, correction1, correction1_next, correction2
            )
            new_m = (1 - beta1) * g_wide + beta1 * m_old
            new_v = (1 - beta2) * tree.abs_sq(g_wide).astype(dtype) + beta2 * v_old
            m_hat = _corrected_first_moment(new_m, g_wide, beta1, c1, c1_next, nesterov)
            eps_root_, eps_, r = cast_to(dtype, eps_root, eps, factor)
            adaptive = r * m_hat / (jnp.sqrt(new_v / c2 + eps_root_) + eps_)
            out = jnp.where(rectify, adaptive, m_hat)
            return out.astype(g.dtype), new_m.astype(m.dtype), new_v.astype(v.dtype)

        updates, mu, nu = tree.map_unzip(leaf, 3, updates, state.mu, state.nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


def scale_by_yogi(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-3,
    eps_root: float = 0.0,
    initial_accumulator_value: float = 1e-6,
) -> GradientTransformation:
    """Rescale updates by Yogi's moment ratio.

    The maths and the reference are in ``optgrad.yogi``. Moments of float16
    and bfloat16 params are kept in float32.

    Args:
        b1: Decay rate of the first moment, in [0, 1).
        b2: Rate of the additive second-moment update, in [0, 1).
        eps: Added to the root of the second moment, >= 0.
        eps_root: Added to the second moment inside the root, >= 0.
        initial_accumulator_value: The starting value of both moments, >= 0.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByAdamState``.
    """
    name = "scale_by_yogi"
    _check_moment_args(name, b1, b2, eps, eps_root)
    _validate.check_non_negative(
        name, "initial_accumulator_value", initial_accumulator_value
    )
    init_fn = _adam_state_init(name, fill=initial_accumulator_value)

    def update_fn(updates, state, params=None):
        _check_adam_state(f"{name}.update", updates, params, state)
        count = safe_increment(state.count)
        correction1 = _bias_correction(b1, count)
        correction2 = _bias_correction(b2, count)

        def leaf(g, m, v):
            dtype = compute_dtype_of(g, m, v)
            g_wide, m_old, v_old = cast_to(dtype, g, m, v)
            beta1, beta2, c1, c2 = cast_to(dtype, b1, b2, correction1, correction2)
            new_m = (1 - beta1) * g_wide + beta1 * m_old
            g_sq = tree.abs_sq(g_wide).astype(dtype)
            new_v = v_old - (1 - beta2) * jnp.sign(v_old - g_sq) * g_sq
            eps_root_, eps_ = cast_to(dtype, eps_root, eps)
            out = (new_m / c1) / (jnp.sqrt(new_v / c2 + eps_root_) + eps_)
            return out.astype(g.dtype), new_m.astype(m.dtype), new_v.astype(v.dtype)

        updates, mu, nu = tree.map_unzip(leaf, 3, updates, state.mu, state.nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


class ScaleByBeliefState(NamedTuple):
    """State of ``scale_by_belief``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    mu: Updates  # First moment: moving average of the gradients.
    nu: Updates  # Moving average of (g - mu)**2, with eps_root added.


def scale_by_belief(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Rescale updates by AdaBelief's ratio of the mean to the belief spread.

    The maths and the reference are in ``optgrad.adabelief``. Moments of
    float16 and bfloat16 params are kept in float32, where the default
    ``eps`` and ``eps_root`` of ``1e-16`` are not zero.

    Args:
        b1: Decay rate of the first moment, in [0, 1).
        b2: Decay rate of the second central moment, in [0, 1).
        eps: Added to the root of the second moment, >= 0.
        eps_root: Added to the second moment at every step, >= 0. Keep it
            positive to differentiate through the update.
        nesterov: Use Nesterov momentum in the first moment.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByBeliefState``.
    """
    name = "scale_by_belief"
    _check_moment_args(name, b1, b2, eps, eps_root)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return ScaleByBeliefState(
            count=jnp.zeros([], jnp.int32),
            mu=tree.moment_zeros_like(params),
            nu=tree.moment_zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        _check_adam_state(f"{name}.update", updates, params, state)
        count = safe_increment(state.count)
        correction1 = _bias_correction(b1, count)
        correction1_next = _bias_correction(b1, safe_increment(count))
        correction2 = _bias_correction(b2, count)

        def leaf(g, m, s):
            dtype = compute_dtype_of(g, m, s)
            g_wide, m_old, s_old = cast_to(dtype, g, m, s)
            beta1, beta2, c1, c1_next, c2 = cast_to(
                dtype, b1, b2, correction1, correction1_next, correction2
            )
            new_m = (1 - beta1) * g_wide + beta1 * m_old
            surprise = tree.abs_sq(g_wide - new_m).astype(dtype)
            eps_root_, eps_ = cast_to(dtype, eps_root, eps)
            new_s = (1 - beta2) * surprise + beta2 * s_old + eps_root_
            m_hat = _corrected_first_moment(new_m, g_wide, beta1, c1, c1_next, nesterov)
            out = m_hat / (jnp.sqrt(new_s / c2) + eps_)
            return out.astype(g.dtype), new_m.astype(m.dtype), new_s.astype(s.dtype)

        updates, mu, nu = tree.map_unzip(leaf, 3, updates, state.mu, state.nu)
        return updates, ScaleByBeliefState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)
