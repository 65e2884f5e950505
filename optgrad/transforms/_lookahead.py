"""The lookahead wrapper: fast weights that a slow copy pulls back periodically."""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _validate, tree
from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from optgrad._typing import OptState, Params
from optgrad.transforms._wrapping import check_transformation


class LookaheadState(NamedTuple):
    """State of ``lookahead``."""

    fast_state: OptState  # The fast optimizer's state.
    steps_since_sync: jax.Array  # int32 scalar: fast steps since the last sync.


class LookaheadParams(NamedTuple):
    """The two copies of the params that ``lookahead`` updates.

    Compute gradients at ``fast``, and evaluate and deploy ``slow``, which
    usually generalizes better.
    """

    fast: Params  # Updated by the fast optimizer at every step.
    slow: Params  # Moved towards ``fast`` every ``sync_period`` steps.

    @classmethod
    def init_synced(cls, params: Params) -> "LookaheadParams":
        """Return a pair whose fast and slow copies are both ``params``."""
        return cls(fast=params, slow=params)


def lookahead(
    fast_optimizer: GradientTransformation,
    sync_period: int,
    slow_step_size: float,
    reset_state: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Wrap an optimizer in lookahead: k fast steps forward, one step back.

    The fast optimizer updates the fast params :math:`\phi` at every step.
    Every ``sync_period`` steps the slow params move part of the way
    towards them, :math:`\theta \leftarrow \theta + \alpha (\phi - \theta)`,
    and the fast params restart from the new :math:`\theta`. Both moves are
    folded into the returned updates, so ``apply_updates`` on a
    ``LookaheadParams`` does everything. Changing the updates before
    applying them puts the two copies out of step.

    Args:
        fast_optimizer: The optimizer of the fast params.
        sync_period: :math:`k`, the number of fast steps between syncs, an
            integer >= 1.
        slow_step_size: :math:`\alpha`, in [0, 1].
        reset_state: Re-initialize the fast optimizer's state at every sync.

    Returns:
        A ``GradientTransformationExtraArgs`` with a ``LookaheadState``. Its
        ``update`` takes gradients with respect to the fast params and the
        ``LookaheadParams``, and returns ``LookaheadParams`` updates. Extra
        keyword arguments go to the fast optimizer.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.lookahead(optgrad.sgd(0.1), sync_period=2, slow_step_size=0.5)
        >>> params = optgrad.LookaheadParams.init_synced(jnp.array([1.0]))
        >>> state = opt.init(params)
        >>> for _ in range(2):
        ...     grads = jax.grad(lambda p: jnp.sum(p**2))(params.fast)
        ...     updates, state = opt.update(grads, state, params)
        ...     params = optgrad.apply_updates(params, updates)
        >>> round(float(params.slow[0]), 4), round(float(params.fast[0]), 4)
        (0.82, 0.82)

    Notes:
        ``init`` also accepts the plain params and then treats them as the
        fast params. optax 0.2.8 logs a warning there, and optgrad does not
        log. The sync is a selection rather than a product with a 0/1 flag,
        so a NaN in the slow params does not reach the fast updates between
        syncs.

    References:
        Zhang, Lucas, Hinton and Ba, "Lookahead Optimizer: k steps forward,
        1 step back", 2019, https://arxiv.org/abs/1907.08610
    """
    check_transformation("lookahead", "fast_optimizer", fast_optimizer)
    _validate.check_positive_int("lookahead", "sync_period", sync_period)
    _validate.check_range("lookahead", "slow_step_size", slow_step_size, 0.0, 1.0)
    fast_optimizer = with_extra_args_support(fast_optimizer)

    def init_fn(params):
        fast = params.fast if isinstance(params, LookaheadParams) else params
        return LookaheadState(
            fast_state=fast_optimizer.init(fast),
            steps_since_sync=jnp.zeros([], jnp.int32),
        )

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(params, LookaheadParams):
            raise TypeError(
                "lookahead.update needs the params as a LookaheadParams pair, got "
                f"{type(params).__name__}. Build it with "
                "optgrad.LookaheadParams.init_synced(params) and pass it to "
                "update(grads, state, params)."
            )
        tree.check_same_shapes(
            "lookahead.update",
            ("updates", updates),
            ("params.fast", params.fast),
            ("params.slow", params.slow),
        )
        updates, fast_state = fast_optimizer.update(
            updates, state.fast_state, params.fast, **extra_args
        )
        sync = state.steps_since_sync == sync_period - 1

        def leaf(u, fast, slow):
            u = jnp.asarray(u)
            dtype = tree.compute_dtype(tree.promote(u.dtype, fast.dtype, slow.dtype))
            alpha = jnp.asarray(slow_step_size).astype(dtype)
            u_wide = u.astype(dtype)
            # The distance from the slow params to where the fast step lands.
            gap = fast.astype(dtype) + u_wide - slow.astype(dtype)
            zero = jnp.zeros([], dtype)
            slow_update = jnp.where(sync, alpha * gap, zero)
            fast_update = jnp.where(sync, u_wide - (1 - alpha) * gap, u_wide)
            return fast_update.astype(u.dtype), slow_update.astype(u.dtype)

        fast_updates, slow_updates = tree.map_unzip(
            leaf, 2, updates, params.fast, params.slow
        )
        if reset_state:
            fresh = fast_optimizer.init(params.fast)
            fast_state = jax.tree.map(
                lambda new, old: jnp.where(sync, new, old), fresh, fast_state
            )
        steps_since_sync = jnp.where(sync, 0, state.steps_since_sync + 1)
        return LookaheadParams(fast=fast_updates, slow=slow_updates), LookaheadState(
            fast_state=fast_state, steps_since_sync=steps_since_sync
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)
