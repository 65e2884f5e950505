"""Sigmoid cross-entropy losses on logits: one independent binary problem per element.

16-bit logits are computed in float32 and the result is cast back.
"""

import jax
import jax.numpy as jnp

from optgrad import _validate
from optgrad.losses import _checks, _numerics


def _binary_inputs(
    call: str, logits: jax.typing.ArrayLike, labels: jax.typing.ArrayLike
):
    """Check the inputs and return ``(logits, labels, dtype)`` in the compute dtype."""
    logits = _checks.float_array(call, "logits", logits)
    labels = _checks.labels_like(call, "labels", labels, logits.dtype)
    labels = _checks.broadcast_to_shape(call, "labels", labels, "logits", logits.shape)
    dtype = _checks.result_dtype(logits.dtype, labels.dtype)
    work = _checks.compute_dtype(dtype)
    return logits.astype(work), labels.astype(work), dtype


def _binary_cross_entropy_parts(logits: jax.Array, labels: jax.Array):
    """Return ``(loss, exp(-|logits|), weight)`` for the jvp rule below.

    The loss is ``softplus(x) - x * y = weight * x + log1p(exp(-|x|))``, with
    ``weight = 1 - y`` for ``x >= 0`` and ``-y`` below. A label of exactly 1
    (for ``x >= 0``) or 0 (below) makes ``weight * x`` exactly 0, so a
    confident correct logit keeps its tiny loss to full precision.
    """
    non_negative = logits >= 0
    decay = jnp.exp(jnp.where(non_negative, -logits, logits))
    weight = jnp.where(non_negative, 1.0 - labels, -labels)
    # A weight of 0 on an infinite logit would give 0 * inf = NaN.
    linear = jnp.where(weight == 0, jnp.zeros_like(logits), weight * logits)
    return linear + jnp.log1p(decay), decay, weight


@jax.custom_jvp
def _binary_cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Return ``labels * softplus(-logits) + (1 - labels) * softplus(logits)``.

    The loss takes one exponential and one ``log1p`` per element. A logit of
    ``+inf`` with label 1 (or ``-inf`` with label 0) gives 0 and a zero
    gradient in both arguments. Elsewhere the gradients are those of the
    plain formula: ``sigmoid(logits) - labels`` and ``-logits``.
    """
    return _binary_cross_entropy_parts(logits, labels)[0]


def _binary_cross_entropy_jvp(primals, tangents):
    logits, labels = primals
    d_logits, d_labels = tangents
    loss, decay, weight = _binary_cross_entropy_parts(logits, labels)

    def logits_slope():
        # sigmoid(x) - y from d = exp(-|x|): (1 - y) - d / (1 + d) for x >= 0
        # and d / (1 + d) - y below, exact for a confident correct label.
        tail = decay / (1.0 + decay)
        return jnp.where(logits >= 0, (1.0 - labels) - tail, tail - labels)

    def labels_slope():
        settled = (weight == 0) & jnp.isinf(logits)
        return jnp.where(settled, jnp.zeros_like(logits), -logits)

    d_loss = _numerics.tangent_sum(
        loss, (d_logits, logits_slope), (d_labels, labels_slope)
    )
    return loss, d_loss


_binary_cross_entropy.defjvp(_binary_cross_entropy_jvp, symbolic_zeros=True)


def sigmoid_binary_cross_entropy(logits, labels):
    """Compute the elementwise binary cross-entropy between labels and sigmoid(logits).

    For a logit ``x`` and a label ``y`` in [0, 1] the loss is
    ``-y * log(sigmoid(x)) - (1 - y) * log(1 - sigmoid(x))``, computed from
    ``x`` without forming ``sigmoid(x)``. Use it for binary classification
    (one logit per example) and for multi-label classification (one logit
    per class, classes not mutually exclusive).

    Args:
        logits: Floating-point logits of any shape.
        labels: Labels or target probabilities in [0, 1], shaped like
            ``logits`` (or a shape that broadcasts to it without changing it).

    Returns:
        The loss per element, shaped like ``logits``.

    Raises:
        TypeError: If ``logits`` is not floating point.
        ValueError: If ``labels`` does not match the shape of ``logits``.

    Notes:
        A logit of ``+inf`` with label 1, or ``-inf`` with label 0, gives a
        loss of 0 with a zero gradient (optax 0.2.8: NaN). optax broadcasts
        ``labels`` and ``logits`` against each other; here the result always
        has the shape of ``logits``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from optgrad import losses
        >>> logits = jnp.array([0.0, jnp.inf, -jnp.inf])
        >>> print(losses.sigmoid_binary_cross_entropy(logits, jnp.array([1, 1, 0])))
        [0.6931472 0.        0.       ]
    """
    logits, labels, dtype = _binary_inputs(
        "sigmoid_binary_cross_entropy", logits, labels
    )
    return _binary_cross_entropy(logits, labels).astype(dtype)


def _log_one_minus_p_t(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Return ``log(1 - p_t)``, the log-probability of the wrong outcome.

    ``1 - p_t = labels * sigmoid(-x) + (1 - labels) * sigmoid(x)``. Hard
    labels select one log-sigmoid exactly. Soft labels mix both in log space.
    """
    log_p = jax.nn.log_sigmoid(logits)
    log_q = jax.nn.log_sigmoid(-logits)
    is_one = labels == 1
    is_zero = labels == 0
    # Hard labels never reach the mixture, so they are replaced by 0.5 there
    # to keep both logarithms finite.
    soft = jnp.where(is_one | is_zero, jnp.full_like(labels, 0.5), labels)
    mixture = jnp.logaddexp(jnp.log1p(-soft) + log_p, jnp.log(soft) + log_q)
    return jnp.where(is_one, log_q, jnp.where(is_zero, log_p, mixture))


def sigmoid_focal_loss(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    *,
    alpha: jax.typing.ArrayLike | None = None,
    gamma: jax.typing.ArrayLike = 2.0,
) -> jax.Array:
    """Compute the focal loss: sigmoid cross-entropy scaled by ``(1 - p_t)**gamma``.

    ``p_t`` is the probability the model gives to the labelled outcome, so
    confident correct predictions are down-weighted and training focuses on
    hard examples. With ``alpha``, positive terms are weighted by ``alpha``
    and negative ones by ``1 - alpha``. The weight ``(1 - p_t)**gamma`` is
    computed as ``exp(gamma * log(1 - p_t))`` from the logits, so it stays
    accurate for confident predictions and for ``gamma < 1``.

    Args:
        logits: Floating-point logits of any shape.
        labels: Labels or target probabilities in [0, 1], shaped like
            ``logits`` (or a shape that broadcasts to it without changing it).
        alpha: Optional weight of the positive class, in [0, 1].
        gamma: The focusing exponent, >= 0; 0 gives the cross-entropy.

    Returns:
        The loss per element, shaped like ``logits``.

    Raises:
        TypeError: If ``logits`` is not floating point.
        ValueError: If ``labels`` does not match the shape of ``logits``, or a
            concrete ``alpha`` or ``gamma`` is out of range.

    Notes:
        A logit of ``+inf`` with label 1, or ``-inf`` with label 0, gives 0
        with a zero gradient (optax 0.2.8: NaN).

    References:
        Lin et al., "Focal Loss for Dense Object Detection", 2017,
        https://arxiv.org/abs/1708.02002
    """
    call = "sigmoid_focal_loss"
    if alpha is not None:
        _validate.check_range(call, "alpha", alpha, 0.0, 1.0)
    _validate.check_range(call, "gamma", gamma, low=0.0)
    logits, labels, dtype = _binary_inputs(call, logits, labels)
    gamma = jnp.asarray(gamma).astype(logits.dtype)

    cross_entropy = _binary_cross_entropy(logits, labels)
    log_base = _log_one_minus_p_t(logits, labels)
    # A base of exactly 0 (an infinite logit on the right side) gets the
    # weight 0**gamma directly, because exp(gamma * -inf) is NaN for gamma = 0.
    is_zero_base = log_base == -jnp.inf
    safe_log_base = jnp.where(is_zero_base, jnp.zeros_like(log_base), log_base)
    zero_base_weight = jnp.where(
        gamma == 0, jnp.ones_like(log_base), jnp.zeros_like(log_base)
    )
    weight = jnp.where(is_zero_base, zero_base_weight, jnp.exp(gamma * safe_log_base))
    loss = cross_entropy * weight

    if alpha is not None:
        alpha = jnp.asarray(alpha).astype(logits.dtype)
        loss = (alpha * labels + (1.0 - alpha) * (1.0 - labels)) * loss
    return loss.astype(dtype)
