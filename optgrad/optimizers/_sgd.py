"""Stochastic gradient descent and its sign- and step-size variants."""

from typing import Any

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs, identity
from optgrad._typing import ScalarOrSchedule
from optgrad.transforms._combining import chain
from optgrad.transforms._momentum import ema, trace
from optgrad.transforms._optimistic import (
    check_optimistic_args,
    scale_by_optimistic_gradient,
)
from optgrad.transforms._polyak import check_polyak_args, scale_by_polyak
from optgrad.transforms._scaling import scale, scale_by_learning_rate
from optgrad.transforms._sign import check_rprop_args, scale_by_rprop, scale_by_sign


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


def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformationExtraArgs:
    r"""SignSGD: steps of a fixed size along the sign of each gradient element.

    The update is :math:`u_t = -\eta \operatorname{sign}(g_t)`, elementwise.
    Only one bit per element is needed, which makes the gradients cheap to
    communicate between workers.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.

    Returns:
        ``chain(scale_by_sign(), scale_by_learning_rate(learning_rate))``.

    References:
        Bernstein, Wang, Azizzadenesheli and Anandkumar, "signSGD: Compressed
        Optimisation for Non-Convex Problems", 2018,
        https://arxiv.org/abs/1802.04434
    """
    _validate.check_scalar_or_schedule("sign_sgd", "learning_rate", learning_rate)
    return chain(scale_by_sign(), scale_by_learning_rate(learning_rate))


def signum(
    learning_rate: ScalarOrSchedule,
    beta: float = 0.9,
    accumulator_dtype: Any | None = None,
) -> GradientTransformationExtraArgs:
    r"""Signum: SignSGD on a moving average of the gradients.

    .. math::

        m_t = \beta m_{t-1} + (1 - \beta) g_t, \quad
        u_t = -\eta \operatorname{sign}(m_t).

    The average is not bias-corrected, because the correction is a positive
    factor and does not change the sign.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        beta: :math:`\beta`, in [0, 1].
        accumulator_dtype: The dtype of :math:`m`. By default it is float32
            for 16-bit params and the param dtype otherwise.

    Returns:
        ``chain(ema(beta, debias=False), scale_by_sign(),
        scale_by_learning_rate(learning_rate))``.

    References:
        Bernstein, Wang, Azizzadenesheli and Anandkumar, "signSGD: Compressed
        Optimisation for Non-Convex Problems", 2018,
        https://arxiv.org/abs/1802.04434
    """
    name = "signum"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_range(name, "beta", beta, 0.0, 1.0)
    _validate.check_dtype(name, "accumulator_dtype", accumulator_dtype)
    return chain(
        ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        scale_by_sign(),
        scale_by_learning_rate(learning_rate),
    )


def rprop(
    learning_rate: float,
    eta_minus: float = 0.5,
    eta_plus: float = 1.2,
    min_step_size: float = 1e-6,
    max_step_size: float = 50.0,
) -> GradientTransformationExtraArgs:
    r"""Rprop: a step size per element, grown or shrunk by sign agreement.

    Every element keeps its own step size :math:`\Delta`, starting at
    ``learning_rate``. With :math:`s_t = \operatorname{sign}(g_t)
    \operatorname{sign}(g_{t-1})`, where :math:`g_{t-1}` counts as 0 after
    a sign change:

    .. math::

        \Delta_t = \begin{cases}
            \min(\eta^+ \Delta_{t-1}, \Delta_{max}) & s_t > 0 \\
            \max(\eta^- \Delta_{t-1}, \Delta_{min}) & s_t < 0 \\
            \Delta_{t-1} & s_t = 0
        \end{cases}, \quad
        u_t = \begin{cases}
            0 & s_t < 0 \\
            -\Delta_t \operatorname{sign}(g_t) & \text{otherwise.}
        \end{cases}

    Only signs are used, so the method suits full-batch training. With
    noisy mini-batch gradients the step sizes shrink.

    Args:
        learning_rate: The initial step size, > 0. A number, not a schedule,
            because it only initializes the state.
        eta_minus: :math:`\eta^-`, in [0, 1].
        eta_plus: :math:`\eta^+`, >= 1.
        min_step_size: :math:`\Delta_{min}`, >= 0.
        max_step_size: :math:`\Delta_{max}`, >= ``min_step_size``.

    Returns:
        ``chain(scale_by_rprop(...), scale(-1))``.

    Raises:
        TypeError: For a schedule as ``learning_rate``, or at ``init`` for
            complex params.

    Notes:
        Signs are compared directly, so two tiny gradients whose product
        underflows to zero still count as agreeing. optax 0.2.8 tests the
        product and then keeps the step size. optax 0.2.8 also returns each
        step one update late, so its first update is zero.

    References:
        Riedmiller and Braun, "A Direct Adaptive Method for Faster
        Backpropagation Learning: The RPROP Algorithm", 1993,
        https://doi.org/10.1109/ICNN.1993.298623

        Igel and Hüsken, "Empirical evaluation of the improved Rprop learning
        algorithms", 2003, https://doi.org/10.1016/S0925-2312(01)00700-7
    """
    check_rprop_args(
        "rprop", learning_rate, eta_minus, eta_plus, min_step_size, max_step_size
    )
    return chain(
        scale_by_rprop(
            learning_rate=learning_rate,
            eta_minus=eta_minus,
            eta_plus=eta_plus,
            min_step_size=min_step_size,
            max_step_size=max_step_size,
        ),
        scale(-1.0),
    )


def polyak_sgd(
    max_learning_rate: float = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: float = 0.0,
    eps: float = 0.0,
    variant: str = "sps",
) -> GradientTransformationExtraArgs:
    r"""SGD with the stochastic Polyak step size (SPS).

    ``update`` takes the loss value :math:`f(x_t)` as the keyword argument
    ``value``. With scaling :math:`s` and gradient :math:`g_t`:

    .. math::

        u_t = -s \min\left(\frac{f(x_t) - f^\star}{s^2 \|g_t\|^2 + \epsilon},
              \gamma_{max}\right) g_t,

    and :math:`u_t = 0` when :math:`s^2 \|g_t\|^2 + \epsilon` is below
    float64's machine epsilon (about 2.2e-16). For :math:`s = 1` this is
    SPS\ :sub:`max` of Loizou et al. For :math:`\epsilon = 0` and an
    unclipped step it is their SPS with :math:`c = s`.
    ``variant="sps+"`` replaces :math:`f(x_t) - f^\star` by its positive
    part, so a loss below the guessed minimum never reverses the step.

    Args:
        max_learning_rate: :math:`\gamma_{max}`, >= 0.
        scaling: :math:`s`, a scalar or a schedule.
        f_min: :math:`f^\star`, a lower bound of the loss (0 for models that
            can fit the data exactly). A wrong guess can make the method
            diverge or stall.
        eps: :math:`\epsilon`, >= 0.
        variant: ``"sps"`` or ``"sps+"``.

    Returns:
        ``chain(sgd(scaling), scale_by_polyak(...))``.

    Notes:
        optax 0.2.8 documents the step as :math:`s \min(\frac{f - f^\star}
        {\|g\|^2 + \epsilon}, \gamma_{max})` but computes the formula above,
        because it scales by :math:`s` before measuring the norm. optgrad
        computes the same numbers as optax and documents them.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.polyak_sgd()
        >>> params = jnp.array([1.0, 2.0])
        >>> state = opt.init(params)
        >>> value, grads = jax.value_and_grad(lambda p: jnp.sum(p**2))(params)
        >>> updates, state = opt.update(grads, state, params, value=value)
        >>> optgrad.apply_updates(params, updates).tolist()
        [0.5, 1.0]

    References:
        Loizou, Vaswani, Laradji and Lacoste-Julien, "Stochastic Polyak
        Step-size for SGD: An Adaptive Learning Rate for Fast Convergence",
        2021, https://arxiv.org/abs/2002.10542

        Garrigos, Gower and Schaipp, "Function Value Learning: Adaptive
        Learning Rates Based on the Polyak Stepsize and Function Splitting in
        ERM", 2023, https://arxiv.org/abs/2307.14528
    """
    _validate.check_scalar_or_schedule("polyak_sgd", "scaling", scaling)
    check_polyak_args("polyak_sgd", f_min, max_learning_rate, eps, variant)
    return chain(
        sgd(learning_rate=scaling),
        scale_by_polyak(
            max_learning_rate=max_learning_rate, f_min=f_min, eps=eps, variant=variant
        ),
    )


def optimistic_gradient_descent(
    learning_rate: ScalarOrSchedule,
    alpha: float = 1.0,
    beta: float = 1.0,
) -> GradientTransformationExtraArgs:
    r"""Optimistic gradient descent: a step corrected by the last gradient.

    .. math::

        u_t = -\eta \left((\alpha + \beta) g_t - \beta g_{t-1}\right),

    with :math:`g_0 = g_1`, so the first step is :math:`-\eta \alpha g_1`.
    It approximates the extragradient method with one gradient per step and
    converges in the last iterate on bilinear min-max games, where plain
    gradient descent-ascent cycles or diverges.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        alpha: :math:`\alpha`, >= 0.
        beta: :math:`\beta`, >= 0.

    Returns:
        ``chain(scale_by_optimistic_gradient(alpha, beta),
        scale_by_learning_rate(learning_rate))``.

    Notes:
        optax 0.2.8 types ``alpha`` and ``beta`` as schedules but fails when
        given one. optgrad raises ``TypeError`` at construction instead.

    References:
        Mokhtari, Ozdaglar and Pattathil, "A Unified Analysis of
        Extra-gradient and Optimistic Gradient Methods for Saddle Point
        Problems: Proximal Point Approach", 2020,
        https://arxiv.org/abs/1901.08511
    """
    name = "optimistic_gradient_descent"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    check_optimistic_args(name, alpha, beta)
    return chain(
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        scale_by_learning_rate(learning_rate),
    )
