"""Losses on embeddings: cosine similarity and distance, triplet margin, NT-Xent."""

import jax
import jax.numpy as jnp
from jax import lax

from optgrad import _validate
from optgrad.losses import _checks


def _unit_vectors(
    vectors: jax.Array,
    axes: tuple[int, ...],
    mask: jax.Array | None,
    min_squared_norm: jax.Array,
) -> jax.Array:
    """Divide ``vectors`` by their norm over ``axes``, the squared norm floored.

    A vector whose (floored) norm is 0 maps to the zero vector with a zero
    gradient instead of ``0 / 0``.
    """
    squares = jnp.square(vectors)
    if mask is not None:
        squares = jnp.where(mask, squares, jnp.zeros_like(squares))
    squared_norm = jnp.sum(squares, axis=axes, keepdims=True)
    return vectors * _inverse_norm(squared_norm, min_squared_norm)


def _inverse_norm(squared_norm: jax.Array, floor: jax.Array) -> jax.Array:
    """Return ``1 / sqrt(max(squared_norm, floor))``, and 0 where that is 1 / 0.

    The zero case has a zero gradient, so a zero vector contributes nothing
    instead of ``0 / 0``.
    """
    squared_norm = jnp.maximum(squared_norm, floor)
    nonzero = squared_norm != 0
    safe = jnp.where(nonzero, squared_norm, jnp.ones_like(squared_norm))
    return jnp.where(nonzero, lax.rsqrt(safe), jnp.zeros_like(safe))


def _cosine(call, predictions, targets, epsilon, axis, where):
    """Return the cosine similarity in the compute dtype, and the result dtype."""
    predictions = _checks.float_array(call, "predictions", predictions)
    targets = _checks.float_array(call, "targets", targets)
    _validate.check_range(call, "epsilon", epsilon, low=0.0)
    targets = _checks.broadcast_to_shape(
        call, "targets", targets, "predictions", predictions.shape
    )
    axes = _checks.normalize_axes(call, axis, predictions.ndim)
    mask = _checks.mask_array(call, where, predictions.shape, axes)

    dtype = _checks.result_dtype(predictions.dtype, targets.dtype)
    work = _checks.compute_dtype(dtype)
    floor = jnp.asarray(epsilon).astype(work)
    a = predictions.astype(work)
    b = targets.astype(work)
    if mask is not None:
        a = jnp.where(mask, a, jnp.zeros_like(a))
        b = jnp.where(mask, b, jnp.zeros_like(b))
    # Scaling the dot product by the two inverse norms afterwards means the
    # unit vectors are never stored.
    dot = jnp.sum(a * b, axis=axes)
    scale_a = _inverse_norm(jnp.sum(jnp.square(a), axis=axes), floor)
    scale_b = _inverse_norm(jnp.sum(jnp.square(b), axis=axes), floor)
    return dot * scale_a * scale_b, dtype


def cosine_similarity(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    epsilon: jax.typing.ArrayLike = 0.0,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the cosine of the angle between predictions and targets.

    The value is ``<a, b> / (|a| |b|)`` over ``axis``, in [-1, 1].

    Args:
        predictions: Predicted vectors, ``[..., dim]``.
        targets: Target vectors with the shape of ``predictions``.
        epsilon: A floor on each squared norm, >= 0, applied before the
            square root (so the smallest norm used is ``sqrt(epsilon)``).
        axis: The vector axis or axes.
        where: Optional boolean mask of the entries to include, shaped like
            ``predictions`` or like the result.

    Returns:
        The similarity per vector: the input shape without ``axis``.

    Raises:
        TypeError: If an input is not floating point or ``where`` not boolean.
        ValueError: If the shapes of ``targets`` or ``where`` do not fit, or
            a concrete ``epsilon`` is negative.

    Notes:
        With the default ``epsilon=0`` a zero vector has similarity 0 with
        everything and a zero gradient; optax 0.2.8 returns NaN for it.
    """
    similarity, dtype = _cosine(
        "cosine_similarity", predictions, targets, epsilon, axis, where
    )
    return similarity.astype(dtype)


def cosine_distance(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    epsilon: jax.typing.ArrayLike = 0.0,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the cosine distance ``1 - cosine_similarity``, in [0, 2].

    Args:
        predictions: Predicted vectors, ``[..., dim]``.
        targets: Target vectors with the shape of ``predictions``.
        epsilon: A floor on each squared norm, as in ``cosine_similarity``.
        axis: The vector axis or axes.
        where: Optional boolean mask of the entries to include.

    Returns:
        The distance per vector: the input shape without ``axis``.

    Raises:
        TypeError: If an input is not floating point or ``where`` not boolean.
        ValueError: If the shapes of ``targets`` or ``where`` do not fit.

    Notes:
        A zero vector has distance 1 with a zero gradient (optax 0.2.8: NaN).
    """
    similarity, dtype = _cosine(
        "cosine_distance", predictions, targets, epsilon, axis, where
    )
    return (1.0 - similarity).astype(dtype)


def triplet_margin_loss(
    anchors: jax.typing.ArrayLike,
    positives: jax.typing.ArrayLike,
    negatives: jax.typing.ArrayLike,
    axis: int = -1,
    norm_degree: jax.typing.ArrayLike = 2,
    margin: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 1e-6,
) -> jax.Array:
    """Compute the triplet margin loss ``max(d(a, p) - d(a, n) + margin, 0)``.

    The distance is ``d(x, y) = (sum |x - y|**norm_degree + eps)**(1 / norm_degree)``
    over ``axis``; ``eps`` keeps its gradient finite when ``x == y``.

    Args:
        anchors: Anchor embeddings, ``[..., dim]``.
        positives: Embeddings that should be near the anchors, same shape.
        negatives: Embeddings that should be far from the anchors, same shape.
        axis: The embedding axis.
        norm_degree: The degree ``q`` of the distance, > 0 (2 is Euclidean).
        margin: How much farther the negative must be than the positive.
        eps: Added inside the root, >= 0.

    Returns:
        The loss per triplet: the input shape without ``axis``.

    Raises:
        TypeError: If an input is not floating point.
        ValueError: If the shapes differ, or a concrete ``norm_degree`` or
            ``eps`` is out of range.

    Notes:
        The distance uses ``|x - y|``, so odd degrees are proper norms. optax
        0.2.8 raises the signed difference to the power. That agrees for even
        degrees but gives a wrong distance (or NaN) for odd or fractional ones.

    References:
        Balntas et al., "Learning shallow convolutional feature descriptors
        with triplet losses", 2016.
    """
    call = "triplet_margin_loss"
    anchors = _checks.float_array(call, "anchors", anchors)
    positives = _checks.float_array(call, "positives", positives)
    negatives = _checks.float_array(call, "negatives", negatives)
    _checks.check_same_shape(call, "anchors", anchors, "positives", positives)
    _checks.check_same_shape(call, "anchors", anchors, "negatives", negatives)
    _validate.check_range(call, "norm_degree", norm_degree, low=0.0, low_open=True)
    _validate.check_range(call, "eps", eps, low=0.0)
    if isinstance(axis, tuple | list):
        raise TypeError(f"{call}: axis must be one int, got {axis!r}.")
    axes = _checks.normalize_axes(call, axis, anchors.ndim)

    dtype = _checks.result_dtype(anchors.dtype, positives.dtype, negatives.dtype)
    work = _checks.compute_dtype(dtype)
    # A Python int degree stays an int, so that jnp.power multiplies instead
    # of going through exp and log.
    if isinstance(norm_degree, int) and not isinstance(norm_degree, bool):
        degree = norm_degree
    else:
        degree = jnp.asarray(norm_degree).astype(work)
    offset = jnp.asarray(eps).astype(work)
    anchors = anchors.astype(work)

    # An even integer degree needs no absolute value, which would cost a
    # sign in the backward pass.
    even = isinstance(degree, int) and degree % 2 == 0

    def distance(others):
        differences = anchors - others.astype(work)
        if not even:
            differences = jnp.abs(differences)
        powers = jnp.power(differences, degree)
        return jnp.power(jnp.sum(powers, axis=axes) + offset, 1.0 / degree)

    gap = distance(positives) - distance(negatives)
    loss = jnp.maximum(gap + jnp.asarray(margin).astype(work), 0.0)
    return loss.astype(dtype)


def ntxent(
    embeddings: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    temperature: jax.typing.ArrayLike = 0.07,
    *,
    reduction: str = "mean",
) -> jax.Array:
    """Compute the normalized temperature-scaled cross-entropy (NT-Xent) loss.

    Embeddings with equal labels form positive pairs. For an anchor ``i`` and
    a positive ``j`` the pair loss is a softmax cross-entropy over the
    cosine similarities divided by ``temperature``, with the positive ``j``
    competing against every embedding whose label differs from ``i``'s:
    ``-s_ij + log(exp(s_ij) + sum_{k: label_k != label_i} exp(s_ik))``.

    Args:
        embeddings: Embeddings, ``[batch, dim]``.
        labels: Group labels, ``[batch]``; for two views per example,
            ``[0, 0, 1, 1, ...]``.
        temperature: The softmax temperature, > 0.
        reduction: ``"mean"`` (the mean over positive pairs, as optax),
            ``"sum"``, or ``"none"`` for the ``[batch, batch]`` matrix of pair
            losses, 0 where ``(i, j)`` is not a positive pair.

    Returns:
        A scalar for ``"mean"`` and ``"sum"``, else a ``[batch, batch]`` array.

    Raises:
        TypeError: If ``embeddings`` is not floating point.
        ValueError: If the shapes do not fit, ``reduction`` is unknown or a
            concrete ``temperature`` is not positive.

    Notes:
        ``reduction`` is an optgrad extension; optax 0.2.8 always returns the
        mean. A batch without positive pairs gives 0 with a zero gradient
        (optax: NaN), and an anchor with no negatives has pair losses of 0.

    References:
        Chen et al., "A Simple Framework for Contrastive Learning of Visual
        Representations", 2020, https://arxiv.org/abs/2002.05709
    """
    call = "ntxent"
    embeddings = _checks.float_array(call, "embeddings", embeddings)
    labels = jnp.asarray(labels)
    _validate.check_range(call, "temperature", temperature, low=0.0, low_open=True)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(
            f"{call}: reduction={reduction!r} is invalid; use 'mean', 'sum' or 'none'."
        )
    if embeddings.ndim != 2:
        raise ValueError(
            f"{call}: embeddings must have shape [batch, dim], got {embeddings.shape}."
        )
    if labels.shape != embeddings.shape[:1]:
        raise ValueError(
            f"{call}: labels of shape {labels.shape} do not match embeddings of "
            f"shape {embeddings.shape}; pass one label per embedding, shape "
            f"{embeddings.shape[:1]}."
        )

    work = _checks.compute_dtype(embeddings.dtype)
    vectors = embeddings.astype(work)
    # Squared norms are floored at the dtype's epsilon, as optax does.
    floor = jnp.asarray(jnp.finfo(work).eps).astype(work)
    units = _unit_vectors(vectors, (1,), None, floor)
    scaled = jnp.matmul(
        units, units.T, precision=jax.lax.Precision.HIGHEST
    ) / jnp.asarray(temperature).astype(work)

    same = labels[:, None] == labels[None, :]
    positive = same & ~jnp.eye(labels.shape[0], dtype=bool)
    negative = ~same

    # log(sum_k exp(s_ik)) over the negatives of each anchor, -inf if none.
    negative_scores = jnp.where(negative, scaled, jnp.full_like(scaled, -jnp.inf))
    shift = jax.lax.stop_gradient(jnp.max(negative_scores, axis=1, keepdims=True))
    has_negative = jnp.isfinite(shift)
    shift = jnp.where(has_negative, shift, jnp.zeros_like(shift))
    total = jnp.sum(jnp.exp(negative_scores - shift), axis=1, keepdims=True)
    safe_total = jnp.where(has_negative, total, jnp.ones_like(total))
    negative_lse = jnp.where(
        has_negative, jnp.log(safe_total) + shift, jnp.full_like(shift, -jnp.inf)
    )

    # -log(exp(s_ij) / (exp(s_ij) + exp(negative_lse_i))) = softplus(lse_i - s_ij)
    pair_losses = jax.nn.softplus(negative_lse - scaled)
    pair_losses = jnp.where(positive, pair_losses, jnp.zeros_like(pair_losses))
    if reduction == "none":
        return pair_losses.astype(embeddings.dtype)
    total_loss = jnp.sum(pair_losses)
    if reduction == "sum":
        return total_loss.astype(embeddings.dtype)
    num_pairs = jnp.sum(positive).astype(work)
    return (total_loss / jnp.maximum(num_pairs, 1.0)).astype(embeddings.dtype)
