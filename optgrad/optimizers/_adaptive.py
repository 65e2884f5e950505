"""Optimizers that divide by running statistics of squared gradients."""

from typing import Any

import jax.numpy as jnp

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs, identity
from optgrad._typing import MaskOrFn, ScalarOrSchedule
from optgrad.optimizers._weight_decay_args import (
    check_weight_decay,
    resolve_weight_decay_mask,
)
from optgrad.transforms._combining import chain
from optgrad.transforms._factored import (
    block_rms_clip,
    scale_by_factored_rms,
    scale_by_sm3,
)
from optgrad.transforms._layerwise import scale_by_param_block_rms
from optgrad.transforms._momentum import ema, trace
from optgrad.transforms._rms import (
    check_rms_args,
    scale_by_adadelta,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
)
from optgrad.transforms._scaling import scale, scale_by_learning_rate
from optgrad.transforms._weight_decay import add_decayed_weights


def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: float = 0.1,
    eps: float = 1e-7,
) -> GradientTransformationExtraArgs:
    r"""Adagrad: steps divided by the root of all squared gradients so far.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        G_t = G_{t-1} + |g_t|^2, \quad G_0 = a, \quad
        u_t = -\eta \frac{g_t}{\sqrt{G_t + \epsilon}},

    with :math:`u_t = 0` where :math:`G_t = 0`. The effective step size only
    shrinks, which suits sparse features and convex problems.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        initial_accumulator_value: :math:`a`, >= 0.
        eps: :math:`\epsilon`, added inside the root, >= 0.

    Returns:
        ``chain(scale_by_rss(...), scale_by_learning_rate(learning_rate))``.

    Notes:
        The accumulator of float16 and bfloat16 params is stored in float32;
        optax 0.2.8 keeps it in the param dtype, where float16 overflows once
        the sum passes 65504.

    References:
        Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online
        Learning and Stochastic Optimization", 2011,
        https://jmlr.org/papers/v12/duchi11a.html
    """
    name = "adagrad"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_non_negative(
        name, "initial_accumulator_value", initial_accumulator_value
    )
    _validate.check_non_negative(name, "eps", eps)
    return chain(
        scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: float | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformationExtraArgs:
    r"""RMSProp: steps divided by a moving root mean square of the gradients.

    With gradient :math:`g_t` at step :math:`t = 1, 2, \dots`:

    .. math::

        v_t = \gamma v_{t-1} + (1 - \gamma) |g_t|^2, \quad v_0 = v_{init}, \quad
        s_t = -\eta \frac{g_t}{\sqrt{v_t + \epsilon}}, \quad
        b_t = s_t + \mu b_{t-1}, \quad u_t = b_t.

    With ``eps_in_sqrt=False`` the denominator is
    :math:`\sqrt{v_t} + \epsilon` (as in PyTorch). With ``centered=True``
    a moving average :math:`m_t = \gamma m_{t-1} + (1 - \gamma) g_t` is kept
    too and :math:`v_t` is replaced by :math:`v_t - |m_t|^2`, an estimate of
    the variance. With ``bias_correction=True`` both averages are divided by
    :math:`1 - \gamma^t`. Without ``momentum``, :math:`u_t = s_t`. With
    ``nesterov=True``, :math:`u_t = s_t + \mu b_t`.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        decay: :math:`\gamma`, in [0, 1] ([0, 1) with ``bias_correction``).
        eps: :math:`\epsilon`, >= 0.
        initial_scale: :math:`v_{init}`, >= 0. PyTorch starts at 0,
            TensorFlow 1 at 1.
        eps_in_sqrt: Add :math:`\epsilon` inside the root.
        centered: Divide by the root of the variance instead of the second
            moment.
        momentum: :math:`\mu`, in [0, 1], or ``None`` for no buffer.
        nesterov: Use Nesterov momentum, which needs ``momentum``.
        bias_correction: Divide the averages by :math:`1 - \gamma^t`.

    Returns:
        ``chain(scale_by_rms(...)`` or ``scale_by_stddev(...),
        scale_by_learning_rate(learning_rate), trace(momentum))``, with
        ``identity()`` in place of ``trace`` when ``momentum`` is ``None``.

    Raises:
        ValueError: For ``nesterov=True`` without ``momentum``, where optax
            0.2.8 ignores ``nesterov``.

    Notes:
        The centered variance is clipped at zero, and a zero denominator
        (possible with ``eps=0``) gives a zero update instead of NaN.
        Averages of float16 and bfloat16 params are stored in float32.

    References:
        Hinton, Srivastava and Swersky, "Neural Networks for Machine
        Learning", lecture 6e, 2012,
        https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf

        Graves, "Generating Sequences With Recurrent Neural Networks", 2013,
        https://arxiv.org/abs/1308.0850
    """
    name = "rmsprop"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    check_rms_args(name, decay, eps, initial_scale, bias_correction)
    if momentum is None:
        if nesterov:
            raise ValueError(
                "rmsprop(nesterov=True) needs a momentum. Pass momentum=0.9, say."
            )
        accumulate = identity()
    else:
        _validate.check_range(name, "momentum", momentum, 0.0, 1.0)
        accumulate = trace(decay=momentum, nesterov=nesterov)
    rescale = scale_by_stddev if centered else scale_by_rms
    return chain(
        rescale(
            decay=decay,
            eps=eps,
            initial_scale=initial_scale,
            eps_in_sqrt=eps_in_sqrt,
            bias_correction=bias_correction,
        ),
        scale_by_learning_rate(learning_rate),
        accumulate,
    )


def adadelta(
    learning_rate: ScalarOrSchedule | None = None,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn | None = None,
    *,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""Adadelta: steps sized by the ratio of past step and gradient magnitudes.

    With gradient :math:`g_t` (plus :math:`\lambda x_t` with weight decay) at
    step :math:`t = 1, 2, \dots`:

    .. math::

        E^g_t = \rho E^g_{t-1} + (1 - \rho) |g_t|^2, \quad
        \Delta_t = \frac{\sqrt{E^\Delta_{t-1} + \epsilon}}
                        {\sqrt{E^g_t + \epsilon}} g_t, \quad
        E^\Delta_t = \rho E^\Delta_{t-1} + (1 - \rho) |\Delta_t|^2, \quad
        u_t = -\eta \Delta_t.

    The step has the units of the params, so no learning rate is needed
    (:math:`\eta = 1`).

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule. ``None`` means 1.
        rho: :math:`\rho`, in [0, 1].
        eps: :math:`\epsilon`, > 0.
        weight_decay: :math:`\lambda`, >= 0, a scalar or a schedule.
        weight_decay_mask: optax's name for ``mask``.
        mask: Which params to decay: a pytree of booleans shaped like the
            params (or a prefix of it), or a function of the params returning
            one. ``None`` decays all. Pass this or ``weight_decay_mask``, not
            both.

    Returns:
        ``chain(add_decayed_weights(weight_decay, mask), scale_by_adadelta(...),
        scale_by_learning_rate(learning_rate))``.

    Notes:
        With ``learning_rate=None`` optax 0.2.8 leaves the sign of the step
        as is and so ascends the loss, while optgrad descends
        (:math:`\eta = 1`). Given a learning rate, the two agree.

    References:
        Zeiler, "ADADELTA: An Adaptive Learning Rate Method", 2012,
        https://arxiv.org/abs/1212.5701
    """
    name = "adadelta"
    if learning_rate is not None:
        _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_range(name, "rho", rho, 0.0, 1.0)
    _validate.check_positive(name, "eps", eps)
    check_weight_decay(name, "weight_decay", weight_decay)
    decay_mask = resolve_weight_decay_mask(
        name, "weight_decay_mask", weight_decay_mask, None, mask
    )
    return chain(
        add_decayed_weights(weight_decay, mask=decay_mask),
        scale_by_adadelta(rho=rho, eps=eps),
        scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate),
    )


def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: float = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: float | None = 1.0,
    momentum: float | None = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: ScalarOrSchedule | None = None,
    eps: float = 1e-30,
    factored: bool = True,
    weight_decay_mask: MaskOrFn | None = None,
    *,
    mask: MaskOrFn | None = None,
) -> GradientTransformationExtraArgs:
    r"""Adafactor: Adam-like steps with a factored second moment.

    For a leaf whose two largest axes both have at least
    ``min_dim_size_to_factor`` elements, only row and column means of the
    squared gradient are kept. Written for a matrix gradient :math:`G_t`
    (rows :math:`i`, columns :math:`j`) at step :math:`t = 1, 2, \dots`:

    .. math::

        \beta_t = 1 - (t - t_0)^{-c}, \quad
        R_t = \beta_t R_{t-1} + (1 - \beta_t)\,
            \mathrm{mean}_j(G_t^2 + \epsilon), \quad
        C_t = \beta_t C_{t-1} + (1 - \beta_t)\,
            \mathrm{mean}_i(G_t^2 + \epsilon), \\
        \hat V_t = \frac{R_t C_t^\top}{\mathrm{mean}(R_t)}, \quad
        U_t = \frac{G_t}{\sqrt{\hat V_t}}, \quad
        \tilde U_t = \frac{U_t}{\max(1, \mathrm{rms}(U_t) / d)}, \\
        S_t = \eta \max(\mathrm{rms}(X_t), 10^{-3})\, \tilde U_t, \quad
        M_t = \beta_1 M_{t-1} + (1 - \beta_1) S_t, \quad
        u_t = -(M_t + \lambda X_t).

    Other leaves keep a full :math:`V_t = \beta_t V_{t-1} +
    (1 - \beta_t)(G_t^2 + \epsilon)`. Each optional step is left out when its
    argument is off: the clipping (``clipping_threshold=None``), the
    learning rate (``None``), the parameter scale
    (``multiply_by_parameter_scale=False``), the momentum (``None``, then
    :math:`M_t = S_t`) and the weight decay (``None``). The rms and the
    clipping are taken per leaf.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule, or ``None``.
            Adafactor's scale differs from Adam's: with the parameter scale
            on, it is relative to the size of the weights.
        min_dim_size_to_factor: Factor only leaves whose second-largest axis
            has at least this many elements. A concrete integer >= 1.
        decay_rate: :math:`c`, >= 0.
        decay_offset: :math:`t_0`, >= 0, for fine-tuning: the step count
            where the schedule restarts.
        multiply_by_parameter_scale: Multiply by :math:`\max(\mathrm{rms}(X_t),
            10^{-3})`, making the learning rate relative.
        clipping_threshold: :math:`d`, > 0, or ``None`` for no clipping.
        momentum: :math:`\beta_1`, in [0, 1], or ``None`` for no momentum
            buffer.
        dtype_momentum: The dtype of :math:`M_t`.
        weight_decay_rate: :math:`\lambda`, >= 0, a scalar or a schedule, or
            ``None``. It is not multiplied by the learning rate.
        eps: :math:`\epsilon`, >= 0.
        factored: Factor the second moment where the shapes allow.
        weight_decay_mask: optax's name for ``mask``.
        mask: Which params to decay: a pytree of booleans shaped like the
            params (or a prefix of it), or a function of the params returning
            one. ``None`` decays all. Pass this or ``weight_decay_mask``, not
            both.

    Returns:
        A ``chain`` of ``scale_by_factored_rms`` and the optional steps above,
        ending with ``scale(-1)``.

    Notes:
        The statistics of float16 and bfloat16 params are kept in float32.
        The rms values come from an overflow-safe norm, so float16 updates
        near 300 are clipped to the right size. optax 0.2.8 computes both in
        the param dtype. The factory branches only on ``None`` and on the
        booleans, never on a hyperparameter value, so ``inject_hyperparams``
        can pass arrays (``min_dim_size_to_factor`` must be static because it
        decides the state shapes). ``init`` runs under ``jax.jit``.

    References:
        Shazeer and Stern, "Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost", 2018, https://arxiv.org/abs/1804.04235
    """
    name = "adafactor"
    if learning_rate is not None:
        _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_non_negative(name, "decay_rate", decay_rate)
    _validate.check_non_negative(name, "decay_offset", decay_offset)
    _validate.check_non_negative(name, "eps", eps)
    if momentum is not None:
        _validate.check_range(name, "momentum", momentum, 0.0, 1.0)
    _validate.check_dtype(name, "dtype_momentum", dtype_momentum)
    if weight_decay_rate is not None:
        check_weight_decay(name, "weight_decay_rate", weight_decay_rate)
    decay_mask = resolve_weight_decay_mask(
        name, "weight_decay_mask", weight_decay_mask, None, mask
    )

    steps = [
        scale_by_factored_rms(
            factored, decay_rate, decay_offset, min_dim_size_to_factor, eps
        )
    ]
    if clipping_threshold is not None:
        steps.append(block_rms_clip(clipping_threshold, name))
    if learning_rate is not None:
        steps.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        steps.append(scale_by_param_block_rms())
    if momentum is not None:
        steps.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        steps.append(add_decayed_weights(weight_decay_rate, mask=decay_mask))
    steps.append(scale(-1.0))
    return chain(*steps)


def sm3(
    learning_rate: ScalarOrSchedule, momentum: float = 0.9
) -> GradientTransformationExtraArgs:
    r"""SM3: Adagrad-like steps with one accumulator per row and per column.

    For a leaf with :math:`k` axes, SM3 keeps for every axis :math:`r` a
    vector :math:`\mu^{(r)}` indexed along that axis, instead of one number
    per element. For element :math:`i` with index :math:`i_r` along axis
    :math:`r`, at step :math:`t = 1, 2, \dots`:

    .. math::

        \nu_t(i) = \min_r \mu^{(r)}_{t-1}(i_r) + g_t(i)^2, \quad
        \mu^{(r)}_t(j) = \max_{i : i_r = j} \nu_t(i), \\
        m_t = \beta m_{t-1} + (1 - \beta) \frac{g_t}{\sqrt{\nu_t + \epsilon}},
        \quad u_t = -\eta m_t,

    with :math:`g_t / \sqrt{\nu_t + \epsilon} = 0` where :math:`\nu_t = 0`
    and :math:`\epsilon = 10^{-8}`. Leaves with fewer than two axes keep
    :math:`\nu_t` itself. This is SM3-II of the paper, plus momentum.

    Args:
        learning_rate: :math:`\eta`, a scalar or a schedule.
        momentum: :math:`\beta`, in [0, 1].

    Returns:
        ``chain(scale_by_sm3(momentum), scale_by_learning_rate(learning_rate))``.

    Raises:
        TypeError: At ``init``, for complex params.

    Notes:
        optax 0.2.8 raises ``IndexError`` for scalar params and takes only a
        constant learning rate. optgrad keeps one accumulator for a scalar
        and accepts a schedule. Statistics of 16-bit params are in float32.

    References:
        Anil, Gupta, Koren and Singer, "Memory-Efficient Adaptive
        Optimization", 2019, https://arxiv.org/abs/1901.11150
    """
    name = "sm3"
    _validate.check_scalar_or_schedule(name, "learning_rate", learning_rate)
    _validate.check_range(name, "momentum", momentum, 0.0, 1.0)
    return chain(scale_by_sm3(momentum), scale_by_learning_rate(learning_rate))
