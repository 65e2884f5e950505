"""L-BFGS: the limited-memory BFGS direction and the optimizer built on it."""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optgrad import _messages, _validate, tree
from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    identity,
)
from optgrad._numerics import safe_increment
from optgrad._typing import Params, ScalarOrSchedule, Updates
from optgrad.optimizers._linesearch import value_dtype
from optgrad.optimizers._zoom_linesearch import scale_by_zoom_linesearch
from optgrad.transforms._combining import chain
from optgrad.transforms._scaling import scale, scale_by_learning_rate


class ScaleByLBFGSState(NamedTuple):
    """State of ``scale_by_lbfgs``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    params: Params  # The params of the last update.
    updates: Updates  # The incoming updates (gradients) of the last update.
    # The stored params differences s, stacked on a leading axis of length
    # memory_size. It is a ring buffer, and the newest entry is at index
    # (num_stored_pairs - 1) % memory_size.
    diff_params_memory: Updates
    # The matching differences y of the incoming updates, stacked alike.
    diff_updates_memory: Updates
    # 1 / (s . y) for each stored pair, and 0 in slots not written yet.
    weights_memory: jax.Array
    # int32: the number of (s, y) pairs stored so far.
    num_stored_pairs: jax.Array
    # int32: the number of pairs left out because s . y was not positive.
    num_skipped_pairs: jax.Array


def _entry(memory: Updates, index: jax.Array) -> Updates:
    return jax.tree.map(lambda m: m[index], memory)


def _write(memory: Updates, index: jax.Array, new: Updates, keep: jax.Array) -> Updates:
    """Store ``new`` at ``index`` unless ``keep`` holds."""

    def leaf(m, x):
        x = jnp.where(keep, m[index], x.astype(m.dtype))
        return m.at[index].set(x)

    return jax.tree.map(leaf, memory, new)


def _difference(new: Updates, old: Updates, memory: Updates) -> Updates:
    """Return ``new - old`` in the dtype of the memory entries."""

    def leaf(x, y, m):
        return tree.widen(x).astype(m.dtype) - tree.widen(y).astype(m.dtype)

    return jax.tree.map(leaf, new, old, memory)


def _inner(tree_x: Updates, tree_y: Updates, dtype: Any) -> jax.Array:
    return jnp.real(tree.vdot(tree_x, tree_y)).astype(dtype)


def _two_loop(
    updates: Updates,
    diff_params: Updates,
    diff_updates: Updates,
    weights: jax.Array,
    identity_scale: jax.Array,
    newest: jax.Array,
) -> Updates:
    """Multiply ``updates`` by the L-BFGS inverse-Hessian estimate.

    The two-loop recursion of Nocedal and Wright (Algorithm 7.4). Slots with
    weight 0 (not written yet) leave the vector unchanged.
    """
    dtype = weights.dtype
    memory_size = weights.shape[0]
    newest_first = (newest - jnp.arange(memory_size, dtype=newest.dtype)) % memory_size

    def newest_to_oldest(q, index):
        s, y = _entry(diff_params, index), _entry(diff_updates, index)
        alpha = weights[index] * _inner(s, q, dtype)
        return tree.add_scale(q, -alpha, y), alpha

    q, alphas = jax.lax.scan(newest_to_oldest, updates, newest_first)
    r = tree.scale(identity_scale, q)

    def oldest_to_newest(r, item):
        index, alpha = item
        s, y = _entry(diff_params, index), _entry(diff_updates, index)
        beta = weights[index] * _inner(y, r, dtype)
        return tree.add_scale(r, alpha - beta, s), None

    r, _ = jax.lax.scan(oldest_to_newest, r, (newest_first[::-1], alphas[::-1]))
    return r


def scale_by_lbfgs(
    memory_size: int = 10,
    scale_init_precond: bool = True,
) -> GradientTransformation:
    r"""Multiply updates by the L-BFGS estimate of the inverse Hessian.

    The maths, the options and the references are in ``optgrad.lbfgs``. The
    output is the direction :math:`H_k u_k` without a sign flip or a
    stepsize, so chain a negative scale and a line search after it. ``update``
    needs the params, because the estimate is built from their differences.

    Args:
        memory_size: The number of (s, y) pairs kept, >= 1.
        scale_init_precond: Start the estimate from
            :math:`\gamma_k I` with :math:`\gamma_k = s^\top y / y^\top y`
            of the newest pair, rather than from the identity.

    Returns:
        A ``GradientTransformation`` with a ``ScaleByLBFGSState``.
    """
    name = "scale_by_lbfgs"
    _validate.check_positive_int(name, "memory_size", memory_size)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        memory = tree.stacked_zeros_like(params, memory_size)
        zero = jnp.zeros((), jnp.int32)
        return ScaleByLBFGSState(
            count=zero,
            params=tree.zeros_like(params),
            updates=tree.zeros_like(params),
            diff_params_memory=memory,
            diff_updates_memory=memory,
            weights_memory=jnp.zeros((memory_size,), value_dtype(params)),
            num_stored_pairs=zero,
            num_skipped_pairs=zero,
        )

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(_messages.missing_params(f"{name}.update"))
        tree.check_same_shapes(
            f"{name}.update",
            ("updates", updates),
            ("params", params),
            ("state.params", state.params),
            ("state.updates", state.updates),
        )
        dtype = state.weights_memory.dtype

        # 1. The newest pair s = params change, y = updates change. It is kept
        # only with positive curvature s . y, which keeps the estimate
        # positive definite. The first update has no pair.
        s = _difference(params, state.params, state.diff_params_memory)
        y = _difference(updates, state.updates, state.diff_updates_memory)
        curvature = _inner(y, s, dtype)
        has_pair = state.count > 0
        accepted = has_pair & jnp.isfinite(curvature) & (curvature > 0)
        skipped = has_pair & ~accepted

        slot = state.num_stored_pairs % memory_size
        diff_params = _write(state.diff_params_memory, slot, s, ~accepted)
        diff_updates = _write(state.diff_updates_memory, slot, y, ~accepted)
        safe_curvature = jnp.where(accepted, curvature, jnp.ones((), dtype))
        weight = jnp.where(accepted, 1 / safe_curvature, state.weights_memory[slot])
        weights = state.weights_memory.at[slot].set(weight)
        num_stored = jnp.where(
            accepted, safe_increment(state.num_stored_pairs), state.num_stored_pairs
        )
        newest = (num_stored - 1) % memory_size

        # 2. The scale of the initial estimate: s . y / y . y of the newest
        # stored pair, or min(1, 1 / |u|) before there is one, which keeps
        # the first trial step inside the unit ball.
        if scale_init_precond:
            newest_s = _entry(diff_params, newest)
            newest_y = _entry(diff_updates, newest)
            numerator = _inner(newest_y, newest_s, dtype)
            denominator = tree.norm(newest_y, squared=True).astype(dtype)
            one = jnp.ones((), dtype)
            safe_denominator = jnp.where(denominator > 0, denominator, one)
            pair_scale = jnp.where(denominator > 0, numerator / safe_denominator, one)
            first_scale = jnp.minimum(one, one / tree.norm(updates).astype(dtype))
            identity_scale = jnp.where(num_stored > 0, pair_scale, first_scale)
        else:
            identity_scale = jnp.ones((), dtype)

        # 3. The direction, computed in the dtype of the memory.
        wide = jax.tree.map(
            lambda u, m: tree.widen(u).astype(m.dtype),
            updates,
            state.diff_params_memory,
        )
        direction = _two_loop(
            wide, diff_params, diff_updates, weights, identity_scale, newest
        )
        new_state = ScaleByLBFGSState(
            count=safe_increment(state.count),
            params=params,
            updates=updates,
            diff_params_memory=diff_params,
            diff_updates_memory=diff_updates,
            weights_memory=weights,
            num_stored_pairs=num_stored,
            num_skipped_pairs=jnp.where(
                skipped,
                safe_increment(state.num_skipped_pairs),
                state.num_skipped_pairs,
            ),
        )
        return tree.cast_like(direction, updates), new_state

    return GradientTransformation(init_fn, update_fn)


_DEFAULT_LINESEARCH = scale_by_zoom_linesearch(
    max_linesearch_steps=20, initial_guess_strategy="one"
)


def lbfgs(
    learning_rate: ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: GradientTransformation | None = _DEFAULT_LINESEARCH,
) -> GradientTransformationExtraArgs:
    r"""L-BFGS: quasi-Newton steps from a limited memory of past gradients.

    With params :math:`w_k` and incoming updates (gradients) :math:`u_k`,
    the last :math:`m` pairs :math:`s_i = w_{i+1} - w_i`,
    :math:`y_i = u_{i+1} - u_i` with :math:`\rho_i = 1 / s_i^\top y_i`
    define the inverse-Hessian estimate :math:`H_k = H_k^{(k)}`:

    .. math::

        H_k^{(i+1)} = (I - \rho_i s_i y_i^\top)\, H_k^{(i)}\,
        (I - \rho_i y_i s_i^\top) + \rho_i s_i s_i^\top, \quad
        H_k^{(k-m)} = \gamma_k I, \quad
        \gamma_k = \frac{s_{k-1}^\top y_{k-1}}{y_{k-1}^\top y_{k-1}}, \\
        w_{k+1} = w_k - \eta_k H_k u_k,

    where the line search picks the stepsize :math:`\eta_k`. The product
    :math:`H_k u_k` costs :math:`O(m n)` with the two-loop recursion. Before
    the first pair, :math:`\gamma_0 = \min(1, 1 / \|u_0\|)`, and with
    ``scale_init_precond=False``, :math:`\gamma_k = 1`.

    Use it with a deterministic objective: pass ``value``, ``grad`` and
    ``value_fn`` to ``update``, and get ``value`` and ``grad`` from
    ``value_and_grad_from_state``, which reuses those the line search
    computed.

    Args:
        learning_rate: A fixed stepsize or schedule :math:`\eta_k`. ``None``
            (default) uses 1 and leaves the stepsize to the line search.
        memory_size: :math:`m`, the number of pairs kept, >= 1.
        scale_init_precond: Use :math:`\gamma_k` above rather than 1.
        linesearch: The line search chained last, or ``None`` for none. The
            default is ``scale_by_zoom_linesearch(max_linesearch_steps=20,
            initial_guess_strategy="one")``.

    Returns:
        ``chain(scale_by_lbfgs(...), scale(-1) or
        scale_by_learning_rate(learning_rate), linesearch)``.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> def rosenbrock(x):
        ...     return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        >>> opt = optgrad.lbfgs()
        >>> value_and_grad = optgrad.value_and_grad_from_state(rosenbrock)
        >>> @jax.jit
        ... def step(params, state):
        ...     value, grad = value_and_grad(params, state=state)
        ...     updates, state = opt.update(
        ...         grad, state, params, value=value, grad=grad, value_fn=rosenbrock
        ...     )
        ...     return optgrad.apply_updates(params, updates), state
        >>> params = jnp.zeros(5)
        >>> state = opt.init(params)
        >>> for _ in range(40):
        ...     params, state = step(params, state)
        >>> bool(rosenbrock(params) < 1e-8)
        True

    Notes:
        Where optax 0.2.8 differs:

        - A pair with :math:`s^\top y \le 0` (or NaN) is not stored, and
          the state's ``num_skipped_pairs`` counts it. The memory keeps the
          last :math:`m` pairs with positive curvature, so :math:`H_k` stays
          positive definite and
          :math:`\gamma_k` comes from the newest stored pair. optax stores
          every pair, with a negative weight after a step that only
          satisfies sufficient decrease (a backtracking search, or a zoom
          search that gave up on the curvature condition), and its
          direction can then point uphill.
        - When the direction handed to the line search is not a descent
          direction (a transform chained before ``lbfgs`` changed the
          gradient, say), the objective still does not increase. The
          built-in line searches then fall back to steepest descent, or to a
          zero step, and report it in their state's ``info``.
        - A failed line search leaves the params unchanged (see
          ``scale_by_zoom_linesearch``).
        - The memory of float16 and bfloat16 params is kept in float32.

        For complex params, ``jax.grad`` returns the conjugate of the ascent
        direction. Pass its conjugate as the updates (chain a transform that
        conjugates before ``lbfgs``) and the gradient itself as ``grad``.

    References:
        Nocedal and Wright, "Numerical Optimization", 2nd edition, 2006,
        Algorithms 7.4 and 7.5, https://doi.org/10.1007/978-0-387-40065-5

        Liu and Nocedal, "On the limited memory BFGS method for large scale
        optimization", 1989, https://doi.org/10.1007/BF01589116
    """
    _validate.check_positive_int("lbfgs", "memory_size", memory_size)
    if learning_rate is None:
        base_scaling = scale(-1.0)
    else:
        base_scaling = scale_by_learning_rate(learning_rate)
    if linesearch is None:
        linesearch = identity()
    elif not isinstance(linesearch, GradientTransformation):
        raise TypeError(
            "lbfgs(linesearch=...) must be a gradient transformation such as "
            "optgrad.scale_by_zoom_linesearch(max_linesearch_steps=20), or None, "
            f"got {type(linesearch).__name__}."
        )
    return chain(
        scale_by_lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond),
        base_scaling,
        linesearch,
    )
