"""Kullback-Leibler divergences of a prediction, given in log space, from a target.

Each divergence sums over ``axis`` and returns one value per example. A
target probability of 0 adds nothing (``0 * log(0) = 0``), with finite
gradients with respect to both arguments.
"""

import jax
import jax.numpy as jnp

from optgrad.losses import _checks, _numerics


def _divergence_inputs(call, log_predictions, targets, targets_name, axis, where):
    """Check the inputs; return them in the compute dtype with axes, mask and dtype."""
    log_predictions = _checks.float_array(call, "log_predictions", log_predictions)
    targets = _checks.float_array(call, targets_name, targets)
    targets = _checks.broadcast_to_shape(
        call, targets_name, targets, "log_predictions", log_predictions.shape
    )
    axes = _checks.normalize_axes(call, axis, log_predictions.ndim)
    mask = _checks.mask_array(call, where, log_predictions.shape, axes)
    dtype = _checks.result_dtype(log_predictions.dtype, targets.dtype)
    work = _checks.compute_dtype(dtype)
    return log_predictions.astype(work), targets.astype(work), axes, mask, dtype


def _masked_sum(terms: jax.Array, axes: tuple[int, ...], mask: jax.Array | None):
    if mask is not None:
        terms = jnp.where(mask, terms, jnp.zeros_like(terms))
    return jnp.sum(terms, axis=axes)


def _kl_parts(log_predictions, targets):
    """Return ``(terms, is_zero, gap)`` for the jvp rule.

    ``gap`` is ``log(t) - log_p``, set to 0 where ``t = 0``.
    """
    is_zero = targets == 0
    log_targets = jnp.log(jnp.where(is_zero, jnp.ones_like(targets), targets))
    # One select on the difference, so that XLA stores one array, not two,
    # before the reduction.
    gap = jnp.where(is_zero, jnp.zeros_like(targets), log_targets - log_predictions)
    return targets * gap, is_zero, gap


@jax.custom_jvp
def _kl_terms(log_predictions: jax.Array, targets: jax.Array) -> jax.Array:
    """Return ``t * (log(t) - log_p)`` elementwise, with the value 0 where ``t = 0``.

    At ``t = 0`` the ``t * log(t)`` part is held at its limit 0, so the
    gradient with respect to ``t`` there is ``-log_p`` (0 if ``log_p`` is
    ``-inf``) and with respect to ``log_p`` it is 0.
    """
    return _kl_parts(log_predictions, targets)[0]


def _kl_terms_jvp(primals, tangents):
    log_predictions, targets = primals
    d_log_predictions, d_targets = tangents
    terms, is_zero, gap = _kl_parts(log_predictions, targets)

    def log_predictions_slope():
        # -t is already 0 where t = 0, so the backward pass for the
        # predictions reads only the targets.
        return -targets

    def targets_slope():
        finite = log_predictions != -jnp.inf
        at_zero = jnp.where(finite, -log_predictions, jnp.zeros_like(gap))
        return jnp.where(is_zero, at_zero, gap + 1.0)

    d_terms = _numerics.tangent_sum(
        terms,
        (d_log_predictions, log_predictions_slope),
        (d_targets, targets_slope),
    )
    return terms, d_terms


_kl_terms.defjvp(_kl_terms_jvp, symbolic_zeros=True)


def kl_divergence(
    log_predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute ``KL(targets || predictions) = sum t * (log(t) - log_predictions)``.

    Args:
        log_predictions: Log-probabilities of the predicted distribution,
            ``[..., dim]``, for example from ``jax.nn.log_softmax``.
        targets: Probabilities of the target distribution with the shape of
            ``log_predictions``; entries may be 0.
        axis: The axis or axes to sum over.
        where: Optional boolean mask of the entries to include, shaped like
            ``log_predictions`` or like the result.

    Returns:
        The divergence per example: the input shape without ``axis``.

    Raises:
        TypeError: If an input is not floating point or ``where`` not boolean.
        ValueError: If the shapes of ``targets`` or ``where`` do not fit.

    Notes:
        A target of 0 contributes 0, even against a log-prediction of
        ``-inf``, and its gradients are finite. The gradient with respect to
        ``log_predictions`` is 0 there, and with respect to the target it is
        ``-log_predictions`` (0 if that is ``inf``). The ``t * log(t)`` part,
        whose one-sided derivative at 0 is ``-inf``, is held constant. optax
        0.2.8 returns a NaN gradient with respect to such a target.

    References:
        Kullback and Leibler, "On Information and Sufficiency", 1951,
        https://www.jstor.org/stable/2236703
    """
    log_predictions, targets, axes, mask, dtype = _divergence_inputs(
        "kl_divergence", log_predictions, targets, "targets", axis, where
    )
    terms = _kl_terms(log_predictions, targets)
    return _masked_sum(terms, axes, mask).astype(dtype)


def kl_divergence_with_log_targets(
    log_predictions: jax.typing.ArrayLike,
    log_targets: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute ``KL(targets || predictions)`` with both distributions in log space.

    The divergence is ``sum exp(log_t) * (log_t - log_predictions)``.

    Args:
        log_predictions: Log-probabilities of the predicted distribution.
        log_targets: Log-probabilities of the target distribution, with the
            shape of ``log_predictions``; entries may be ``-inf``.
        axis: The axis or axes to sum over.
        where: Optional boolean mask of the entries to include.

    Returns:
        The divergence per example: the input shape without ``axis``.

    Raises:
        TypeError: If an input is not floating point or ``where`` not boolean.
        ValueError: If the shapes of ``log_targets`` or ``where`` do not fit.

    Notes:
        A log-target of ``-inf`` contributes 0 with zero gradients (optax
        0.2.8: NaN).
    """
    log_predictions, log_targets, axes, mask, dtype = _divergence_inputs(
        "kl_divergence_with_log_targets",
        log_predictions,
        log_targets,
        "log_targets",
        axis,
        where,
    )
    impossible = log_targets == -jnp.inf
    zeros = jnp.zeros_like(log_targets)
    safe_log_targets = jnp.where(impossible, zeros, log_targets)
    safe_log_predictions = jnp.where(impossible, zeros, log_predictions)
    terms = jnp.exp(safe_log_targets) * (safe_log_targets - safe_log_predictions)
    terms = jnp.where(impossible, zeros, terms)
    return _masked_sum(terms, axes, mask).astype(dtype)


def generalized_kl_divergence(
    log_predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the KL divergence for unnormalized distributions.

    The divergence is ``sum t * (log(t) - log_p) + exp(log_p) - t``, the
    Bregman divergence of ``x * log(x) - x``. It equals ``kl_divergence``
    when both distributions sum to 1 and is nonnegative for any positive
    measures.

    Args:
        log_predictions: Logarithms of the predicted (unnormalized) measure.
        targets: The target measure, nonnegative, with the shape of
            ``log_predictions``.
        axis: The axis or axes to sum over.
        where: Optional boolean mask of the entries to include.

    Returns:
        The divergence per example: the input shape without ``axis``.

    Raises:
        TypeError: If an input is not floating point or ``where`` not boolean.
        ValueError: If the shapes of ``targets`` or ``where`` do not fit.

    Notes:
        Targets of 0 are handled as in ``kl_divergence``.
    """
    log_predictions, targets, axes, mask, dtype = _divergence_inputs(
        "generalized_kl_divergence", log_predictions, targets, "targets", axis, where
    )
    divergence = _masked_sum(_kl_terms(log_predictions, targets), axes, mask)
    mass_gap = _masked_sum(jnp.exp(log_predictions) - targets, axes, mask)
    return (divergence + mass_gap).astype(dtype)


def convex_kl_divergence(
    log_predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute ``generalized_kl_divergence``; this is its older name.

    Args:
        log_predictions: Logarithms of the predicted (unnormalized) measure.
        targets: The target measure, nonnegative.
        axis: The axis or axes to sum over.
        where: Optional boolean mask of the entries to include.

    Returns:
        The divergence per example.

    Notes:
        optax 0.2.8 emits a ``DeprecationWarning`` for this name; optgrad
        keeps it as a plain alias without a warning.
    """
    return generalized_kl_divergence(log_predictions, targets, axis=axis, where=where)
