"""Listwise ranking losses over the last axis of scores and relevance labels."""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from optgrad.losses import _checks, _numerics


def ranking_softmax_loss(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    *,
    where: jax.typing.ArrayLike | None = None,
    weights: jax.typing.ArrayLike | None = None,
    reduce_fn: Callable[..., jax.typing.ArrayLike] | None = jnp.mean,
) -> jax.Array:
    """Compute the listwise softmax loss of item scores against relevance labels.

    For each list the loss is ``-sum_i y_i * log_softmax(s)_i`` with ``s`` the
    item scores and ``y`` the relevance labels (times ``weights``), then the
    per-list losses are reduced with ``reduce_fn``.

    Args:
        logits: Item scores, ``[..., list_size]``.
        labels: Relevance labels with the shape of ``logits``.
        where: Optional boolean mask of the valid items, shaped like
            ``logits``; other items are left out of the softmax and the sum.
        weights: Optional per-item weights with the shape of ``logits``.
        reduce_fn: The reduction of the per-list losses, called as
            ``reduce_fn(losses, where=list_mask)``. ``list_mask`` flags the
            lists with a valid item and is ``None`` without ``where``. With
            ``None`` the per-list losses are returned, 0 for lists without
            valid items.

    Returns:
        The reduced loss, or the per-list losses, shape ``[...]``, when
        ``reduce_fn`` is ``None``.

    Raises:
        TypeError: If ``logits`` is not floating point or ``where`` not boolean.
        ValueError: If ``labels``, ``where`` or ``weights`` do not match
            ``logits``.

    Notes:
        With ``reduce_fn=jnp.mean`` the mean runs over the lists that have a
        valid item, and it is 0 with a zero gradient when no list has one
        (optax 0.2.8 returns 0 there but with a NaN gradient). Lists whose
        items are all masked get a zero gradient.
    """
    call = "ranking_softmax_loss"
    logits = _checks.float_array(call, "logits", logits)
    labels = _checks.labels_like(call, "labels", labels, logits.dtype)
    labels = _checks.broadcast_to_shape(call, "labels", labels, "logits", logits.shape)
    axes = (logits.ndim - 1,) if logits.ndim else ()
    if not axes:
        raise ValueError(
            f"{call}: logits must have a list axis, got a scalar. Pass "
            "logits of shape [..., list_size]."
        )
    mask = _checks.mask_array(call, where, logits.shape, axes)

    dtype = _checks.result_dtype(logits.dtype, labels.dtype)
    work = _checks.compute_dtype(dtype)
    scores = logits.astype(work)
    relevance = labels.astype(work)
    if weights is not None:
        weights = _checks.labels_like(call, "weights", weights, work)
        weights = _checks.broadcast_to_shape(
            call, "weights", weights, "logits", logits.shape
        )
        relevance = relevance * weights.astype(work)
    if mask is not None:
        scores = jnp.where(mask, scores, jnp.full_like(scores, -jnp.inf))
        relevance = jnp.where(mask, relevance, jnp.zeros_like(relevance))

    log_probs = _numerics.log_softmax(scores, axes)
    losses = -jnp.sum(_numerics.cross_entropy_terms(relevance, log_probs), axis=-1)

    list_mask = None if mask is None else jnp.any(mask, axis=-1)
    if reduce_fn is None:
        return losses.astype(dtype)
    if reduce_fn is jnp.mean and list_mask is not None:
        # jnp.mean over no lists divides 0 by 0, in value and gradient.
        count = jnp.sum(list_mask).astype(work)
        total = jnp.sum(jnp.where(list_mask, losses, jnp.zeros_like(losses)))
        return (total / jnp.maximum(count, 1.0)).astype(dtype)
    return jnp.asarray(reduce_fn(losses, where=list_mask)).astype(dtype)
