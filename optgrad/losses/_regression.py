"""Elementwise regression losses on predictions and targets.

Each loss returns one value per element, shaped like ``predictions``.
``targets`` may be omitted (then it is zero) and must otherwise have the
shape of ``predictions`` or a shape that broadcasts to it without changing
it. 16-bit inputs are computed in float32 and the result is cast back.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from optgrad import _validate
from optgrad.losses import _checks


def _differences(
    call: str, predictions: jax.typing.ArrayLike, targets: jax.typing.ArrayLike | None
) -> tuple[jax.Array, np.dtype]:
    """Return ``predictions - targets`` in the compute dtype, and the result dtype."""
    predictions = _checks.float_array(call, "predictions", predictions)
    if targets is None:
        dtype = predictions.dtype
        return predictions.astype(_checks.compute_dtype(dtype)), dtype

    targets = _checks.labels_like(call, "targets", targets, predictions.dtype)
    targets = _checks.broadcast_to_shape(
        call, "targets", targets, "predictions", predictions.shape
    )
    dtype = _checks.result_dtype(predictions.dtype, targets.dtype)
    work = _checks.compute_dtype(dtype)
    return predictions.astype(work) - targets.astype(work), dtype


def squared_error(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the elementwise squared error ``(predictions - targets)**2``.

    The mean squared error is ``squared_error(p, t).mean()``.

    Args:
        predictions: Floating-point predictions of any shape.
        targets: Targets with the shape of ``predictions``, or ``None`` for
            zeros.

    Returns:
        The squared errors, shaped like ``predictions``.

    Raises:
        TypeError: If ``predictions`` is not floating point.
        ValueError: If ``targets`` does not match the shape of ``predictions``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from optgrad import losses
        >>> print(losses.squared_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0])))
        [1. 4.]
    """
    errors, dtype = _differences("squared_error", predictions, targets)
    return jnp.square(errors).astype(dtype)


def l2_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute half the elementwise squared error, ``0.5 * (predictions - targets)**2``.

    The factor one half makes the gradient ``predictions - targets``.

    Args:
        predictions: Floating-point predictions of any shape.
        targets: Targets with the shape of ``predictions``, or ``None`` for
            zeros.

    Returns:
        The halved squared errors, shaped like ``predictions``.

    Raises:
        TypeError: If ``predictions`` is not floating point.
        ValueError: If ``targets`` does not match the shape of ``predictions``.
    """
    errors, dtype = _differences("l2_loss", predictions, targets)
    return (0.5 * jnp.square(errors)).astype(dtype)


def absolute_error(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the elementwise absolute error ``|predictions - targets|``.

    The mean absolute error is ``absolute_error(p, t).mean()``. Where a
    prediction equals its target the gradient is 0, the symmetric choice of
    subgradient (the derivative of ``jnp.abs`` at 0 is 1).

    Args:
        predictions: Floating-point predictions of any shape.
        targets: Targets with the shape of ``predictions``, or ``None`` for
            zeros.

    Returns:
        The absolute errors, shaped like ``predictions``.

    Raises:
        TypeError: If ``predictions`` is not floating point.
        ValueError: If ``targets`` does not match the shape of ``predictions``.

    Notes:
        optax 0.2.8 has no such function.
    """
    errors, dtype = _differences("absolute_error", predictions, targets)
    exact = errors == 0
    return jnp.where(exact, jnp.zeros_like(errors), jnp.abs(errors)).astype(dtype)


def huber_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike | None = None,
    *,
    delta: jax.typing.ArrayLike = 1.0,
) -> jax.Array:
    """Compute the Huber loss: quadratic for small errors, linear for large ones.

    For an error ``e``, the loss is ``0.5 * e**2`` where ``|e| <= delta`` and
    ``delta * (|e| - 0.5 * delta)`` elsewhere, so its gradient is ``e``
    clipped to ``[-delta, delta]``.

    Args:
        predictions: Floating-point predictions of any shape.
        targets: Targets with the shape of ``predictions``, or ``None`` for
            zeros.
        delta: The error size where the loss turns linear, >= 0.

    Returns:
        The Huber losses, shaped like ``predictions``.

    Raises:
        TypeError: If ``predictions`` is not floating point.
        ValueError: If ``targets`` does not match the shape of ``predictions``,
            or ``delta`` is negative.
    """
    call = "huber_loss"
    _validate.check_range(call, "delta", delta, low=0.0)
    errors, dtype = _differences(call, predictions, targets)
    delta = jnp.asarray(delta).astype(errors.dtype)
    if delta.ndim:
        delta = _checks.broadcast_to_shape(
            call, "delta", delta, "predictions", errors.shape
        )

    size = jnp.abs(errors)
    quadratic = 0.5 * jnp.square(errors)
    linear = delta * (size - 0.5 * delta)
    return jnp.where(size <= delta, quadratic, linear).astype(dtype)


# Below this error size, log(cosh(e)) = log1p(expm1(-|e|)**2 / (2 exp(-|e|)))
# keeps full relative precision. Above it, |e| - log(2) + log1p(exp(-2|e|))
# has no cancellation and cannot overflow.
_LOG_COSH_SWITCH = 1.0


@jax.custom_jvp
def _log_cosh(errors: jax.Array) -> jax.Array:
    """Return ``log(cosh(errors))`` from one ``expm1`` and one ``log1p``.

    Both forms share ``shrink = expm1(-|e|)`` and ``decay = 1 + shrink =
    exp(-|e|)``: ``cosh(e) - 1 = shrink**2 / (2 decay)`` near 0, and
    ``cosh(e) = exp(|e|) (1 + decay**2) / 2`` away from it. Only the
    argument of the ``log1p`` is switched, so neither form can overflow
    where it is not used.
    """
    size = jnp.abs(errors)
    shrink = jnp.expm1(-size)
    decay = 1.0 + shrink
    small = size < _LOG_COSH_SWITCH
    argument = jnp.where(small, jnp.square(shrink) / (2.0 * decay), jnp.square(decay))
    offset = jnp.where(small, jnp.zeros_like(size), size - math.log(2.0))
    return offset + jnp.log1p(argument)


@_log_cosh.defjvp
def _log_cosh_jvp(primals, tangents):
    (errors,), (d_errors,) = primals, tangents
    return _log_cosh(errors), d_errors * jnp.tanh(errors)


def log_cosh(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the elementwise ``log(cosh(predictions - targets))``.

    The loss is close to ``e**2 / 2`` for small errors and to
    ``|e| - log(2)`` for large ones, and it is smooth everywhere: a twice
    differentiable alternative to the Huber loss. Its gradient is ``tanh(e)``.

    Args:
        predictions: Floating-point predictions of any shape.
        targets: Targets with the shape of ``predictions``, or ``None`` for
            zeros.

    Returns:
        The log-cosh losses, shaped like ``predictions``.

    Raises:
        TypeError: If ``predictions`` is not floating point.
        ValueError: If ``targets`` does not match the shape of ``predictions``.

    Notes:
        optax 0.2.8 computes ``logaddexp(e, -e) - log(2)``, which loses the
        value to cancellation for small errors: in float32 it returns 0 up to
        ``|e|`` of about 3e-4 and is tens of percent off up to about 1e-3.
        Here small errors keep full relative precision.

    References:
        Chen et al., "Log Hyperbolic Cosine Loss Improves Variational
        Auto-Encoder", 2019, https://openreview.net/pdf?id=rkglvsC9Ym
    """
    errors, dtype = _differences("log_cosh", predictions, targets)
    return _log_cosh(errors).astype(dtype)
