"""Stochastic gradient descent with annealed gradient noise."""

import jax

from optgrad import _validate
from optgrad._base import GradientTransformationExtraArgs
from optgrad._typing import ScalarOrSchedule
from optgrad.transforms._combining import chain
from optgrad.transforms._noise import add_noise
from optgrad.transforms._scaling import scale_by_learning_rate


def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: float = 0.01,
    gamma: float = 0.55,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformationExtraArgs:
    r"""SGD on gradients with Gaussian noise whose variance decays.

    At step :math:`t = 1, 2, \dots`:

    .. math::

        u_t = -\eta_t \left( g_t + \sigma_t \xi_t \right), \quad
        \xi_t \sim \mathcal{N}(0, I), \quad
        \sigma_t^2 = \frac{\eta_{noise}}{t^\gamma}.

    Args:
        learning_rate: :math:`\eta_t`, a scalar or a schedule.
        eta: :math:`\eta_{noise}`, the variance at the first step, >= 0.
        gamma: :math:`\gamma`, the decay exponent of the variance.
        key: A PRNG key (``jax.random.key`` or ``jax.random.PRNGKey``) or an
            integer seed. ``None`` uses seed 0 and warns.
        seed: An integer seed, accepted for compatibility with optax; pass
            ``key`` instead.

    Returns:
        ``chain(add_noise(eta, gamma, key), scale_by_learning_rate(learning_rate))``.

    Notes:
        The same ``key`` gives the same noise as optax 0.2.8 for float32
        params. For float16 and bfloat16 params the noise is drawn in
        float32, so it differs from optax's. See ``optgrad.add_noise`` for
        the state.

    References:
        Neelakantan et al., "Adding Gradient Noise Improves Learning for Very
        Deep Networks", 2015, https://arxiv.org/abs/1511.06807
    """
    _validate.check_scalar_or_schedule("noisy_sgd", "learning_rate", learning_rate)
    _validate.check_non_negative("noisy_sgd", "eta", eta)
    _validate.check_range("noisy_sgd", "gamma", gamma)
    return chain(
        add_noise(eta, gamma, key, seed=seed),
        scale_by_learning_rate(learning_rate),
    )
