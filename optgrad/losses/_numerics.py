"""Numerical building blocks shared by the losses.

The softmax helpers treat a logit of ``-inf`` as a class with probability
0, including the case where every logit of a slice is ``-inf``, and keep
their gradients finite there. ``jax.nn.log_softmax`` returns NaN for such
a slice and a NaN gradient.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero


def tangent_sum(like: jax.Array, *terms) -> jax.Array:
    """Return the sum of ``slope() * tangent`` over ``(tangent, slope)`` pairs.

    For jvp rules defined with ``symbolic_zeros=True``: a tangent that is a
    symbolic zero is skipped without calling its slope, so a derivative in
    one argument never computes the slope of another. The result has the
    shape of ``like`` (zeros if every tangent is zero).
    """
    total = jnp.zeros_like(like)
    for tangent, slope in terms:
        if not isinstance(tangent, SymbolicZero):
            total = total + slope() * tangent
    return total


def _shifted_and_total(logits: jax.Array, axes: tuple[int, ...]):
    """Return ``(shifted, total)``: the logits less their maximum, and ``sum(exp)``.

    The maximum is kept constant for the gradient, or 0 is subtracted where
    it is not finite. ``total`` is replaced by 1 where it is 0 (every logit
    ``-inf``), so that its logarithm and that gradient stay finite, while a
    NaN total stays NaN.
    """
    shift = lax.stop_gradient(jnp.max(logits, axis=axes, keepdims=True))
    shift = jnp.where(jnp.isfinite(shift), shift, jnp.zeros_like(shift))
    shifted = logits - shift
    total = jnp.sum(jnp.exp(shifted), axis=axes, keepdims=True)
    return shifted, jnp.where(total == 0, jnp.ones_like(total), total)


def log_softmax(logits: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Return the log-softmax over ``axes``, ``-inf`` for ``-inf`` logits."""
    shifted, total = _shifted_and_total(logits, axes)
    return shifted - jnp.log(total)


@jax.custom_jvp
def cross_entropy_terms(labels: jax.Array, log_probs: jax.Array) -> jax.Array:
    """Return ``labels * log_probs`` with ``0 * log(0)`` taken as 0.

    Where a label is 0 and its log-probability is ``-inf``, the term and its
    gradients are 0. Elsewhere the gradient with respect to the labels is
    ``log_probs``, as the plain product gives.
    """
    impossible = (labels == 0) & (log_probs == -jnp.inf)
    return jnp.where(impossible, jnp.zeros_like(log_probs), labels * log_probs)


@cross_entropy_terms.defjvp
def _cross_entropy_terms_jvp(primals, tangents):
    # labels * d_log_probs is already 0 where a label is 0, so the mask is
    # left out there and the backward pass need not read log_probs again.
    labels, log_probs = primals
    d_labels, d_log_probs = tangents
    impossible = (labels == 0) & (log_probs == -jnp.inf)
    safe_log_probs = jnp.where(impossible, jnp.zeros_like(log_probs), log_probs)
    terms = labels * safe_log_probs
    return terms, safe_log_probs * d_labels + labels * d_log_probs


def _softmax_cross_entropy_parts(logits, labels, axes):
    """Return ``(loss, shifted, total, label_mass)`` for the jvp rule."""
    shifted, total = _shifted_and_total(logits, axes)
    label_mass = jnp.sum(labels, axis=axes, keepdims=True)
    impossible = (labels == 0) & (shifted == -jnp.inf)
    aligned = jnp.where(impossible, jnp.zeros_like(shifted), labels * shifted)
    loss = label_mass * jnp.log(total) - jnp.sum(aligned, axis=axes, keepdims=True)
    return jnp.squeeze(loss, axes), shifted, total, label_mass


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def softmax_cross_entropy(logits: jax.Array, labels: jax.Array, axes) -> jax.Array:
    """Return ``-sum(labels * log_softmax(logits))`` over ``axes``.

    The loss is computed as ``sum(labels) * log(total) - sum(labels *
    shifted)``, with ``shifted`` the logits minus their maximum and
    ``total`` the sum of ``exp(shifted)``, so the log-softmax is never
    stored. The maximum of ``shifted`` is exactly 0, so a confident correct
    label loses no precision to the size of its logit. A class whose logit
    is ``-inf`` and label 0 adds nothing, and both of its gradients are 0.
    """
    return _softmax_cross_entropy_parts(logits, labels, axes)[0]


def _softmax_cross_entropy_jvp(axes, primals, tangents):
    logits, labels = primals
    d_logits, d_labels = tangents
    loss, shifted, total, label_mass = _softmax_cross_entropy_parts(
        logits, labels, axes
    )

    def logits_slope():
        return jnp.exp(shifted) * (label_mass / total) - labels

    def labels_slope():
        # -log_softmax, taken as 0 for a label of 0 on a -inf logit.
        impossible = (labels == 0) & (shifted == -jnp.inf)
        log_probs = shifted - jnp.log(total)
        return jnp.where(impossible, jnp.zeros_like(log_probs), -log_probs)

    d_terms = tangent_sum(shifted, (d_logits, logits_slope), (d_labels, labels_slope))
    return loss, jnp.sum(d_terms, axis=axes)


softmax_cross_entropy.defjvp(_softmax_cross_entropy_jvp, symbolic_zeros=True)


def class_indices(labels: jax.Array, num_classes: int) -> tuple[jax.Array, jax.Array]:
    """Return ``(index, valid)`` for integer labels of ``num_classes`` classes.

    ``index`` is the labels clipped into ``[0, num_classes)``, safe for
    indexing, and ``valid`` flags the labels that were in range.
    """
    if jnp.iinfo(labels.dtype).bits < 32:
        # Widen narrow labels so that num_classes itself fits their dtype.
        labels = labels.astype(jnp.int32)
    valid = (labels >= 0) & (labels < num_classes)
    index = jnp.clip(labels, 0, num_classes - 1)
    return index, valid


def take_class(scores: jax.Array, index: jax.Array) -> jax.Array:
    """Return ``scores[..., index]`` per example, for in-range ``index``."""
    picked = jnp.take_along_axis(
        scores, index[..., None], axis=-1, mode="promise_in_bounds"
    )
    return picked[..., 0]


def take_class_or_nan(scores: jax.Array, labels: jax.Array) -> jax.Array:
    """Return ``scores[..., label]`` per example, NaN for a label out of range.

    A label outside ``[0, num_classes)`` reads NaN instead of a wrapped or
    clipped class, and the gradient of that read is 0. Such labels are sent
    to ``num_classes`` before the gather, which indexes in 32 bits and would
    otherwise wrap labels of 2**32 and more, and count negative ones from
    the end.
    """
    num_classes = scores.shape[-1]
    index, valid = class_indices(labels, num_classes)
    index = jnp.where(valid, index, jnp.full_like(index, num_classes))
    picked = jnp.take_along_axis(
        scores,
        index.astype(jnp.int32)[..., None],
        axis=-1,
        mode="fill",
        fill_value=jnp.nan,
    )
    return picked[..., 0]


def nan_where_invalid(values: jax.Array, valid: jax.Array) -> jax.Array:
    """Return ``values`` with NaN where ``valid`` is False."""
    return jnp.where(valid, values, jnp.full_like(values, jnp.nan))
