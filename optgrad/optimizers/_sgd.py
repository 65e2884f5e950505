"""Stochastic gradient descent and its sign- and step-size variants."""

from typing import Any

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs, identity
from optgrad._typing import ScalarOrSchedule
from optgrad.transforms._combining import chain
from optgrad.transforms._momentum import trace
from optgrad.transforms._scaling import scale_by_learning_rate


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> GradientTransformationExtraArgs:
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    Without momentum the update is :math:`-\eta g`. With momentum
    :math:`\beta` a buffer :math:`t \leftarrow g + \beta t` is kept and the
    update is :math:`-\eta t`, or :math:`-\eta (g + \beta t)` with
    ``nesterov=True``.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        momentum: :math:`\beta`, in [0, 1]; ``None`` keeps no buffer.
        nesterov: Use Nesterov momentum.
        accumulator_dtype: The buffer's dtype; by default float32 for 16-bit
            params and the param dtype otherwise.

    Returns:
        ``chain(trace(momentum), scale_by_learning_rate(learning_rate))``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.sgd(0.1, momentum=0.9)
        >>> params = jnp.array([1.0, -2.0])
        >>> state = opt.init(params)
        >>> grads = jax.grad(lambda p: jnp.sum(p**2))(params)
        >>> updates, state = opt.update(grads, state, params)
        >>> optgrad.apply_updates(params, updates).tolist()
        [0.800000011920929, -1.600000023841858]

    References:
        Robbins and Monro, "A Stochastic Approximation Method", 1951,
        https://doi.org/10.1214/aoms/1177729586
    """
    _validate.check_scalar_or_schedule("sgd", "learning_rate", learning_rate)
    _validate.check_dtype("sgd", "accumulator_dtype", accumulator_dtype)
    if momentum is None:
        if nesterov:
            raise ValueError(
                "sgd(nesterov=True) needs a momentum; pass momentum=0.9, say."
            )
        accumulate = identity()
    else:
        _validate.check_range("sgd", "momentum", momentum, 0.0, 1.0)
        accumulate = trace(
            decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype
        )
    return chain(accumulate, scale_by_learning_rate(learning_rate))
