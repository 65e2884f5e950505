"""Jitted multi-step runs of a transformation on the test problem."""

import jax
import jax.numpy as jnp
import numpy as np
import problems


def corrupt(grads, step, bad_steps, bad_value):
    """Put ``bad_value`` into one gradient element at the steps in ``bad_steps``."""
    if not bad_steps:
        return grads
    is_bad = jnp.any(step == jnp.asarray(bad_steps, jnp.int32))
    embed = grads["embed"]
    value = jnp.where(is_bad, jnp.asarray(bad_value, embed.dtype), embed[0, 0])
    return {**grads, "embed": embed.at[0, 0].set(value)}


def run(
    library,
    tx,
    steps,
    *,
    params=None,
    bad_steps=(),
    bad_value=float("nan"),
    extra_fn=None,
    record=None,
):
    """Run ``steps`` jitted steps of ``tx`` from ``problems.initial_params()``.

    Args:
        library: ``optgrad`` or ``optax``, whose ``apply_updates`` is used.
        tx: The transformation.
        steps: The number of steps.
        params: The starting params, ``problems.initial_params()`` by default.
        bad_steps: Steps whose gradient gets ``bad_value`` in one element.
        bad_value: The value planted at ``bad_steps``.
        extra_fn: ``extra_fn(params)`` returns the extra keyword arguments of
            ``update``.
        record: ``record(state)`` returns what to keep from each step's state.

    Returns:
        The params after each step, stacked, and the recorded values, stacked
        (``None`` without ``record``).
    """
    params = problems.initial_params() if params is None else params

    def step(carry, index):
        params, state = carry
        grads = corrupt(problems.grad(params), index, bad_steps, bad_value)
        extra = extra_fn(params) if extra_fn else {}
        updates, state = tx.update(grads, state, params, **extra)
        params = library.apply_updates(params, updates)
        return (params, state), (params, record(state) if record else None)

    @jax.jit
    def scan(params):
        indices = jnp.arange(steps, dtype=jnp.int32)
        _, outputs = jax.lax.scan(step, (params, tx.init(params)), indices)
        return outputs

    return scan(params)


def assert_close(actual, expected, rtol=2e-5):
    """Assert two stacked trajectories agree relative to each leaf's magnitude."""
    flat_actual = jax.tree_util.tree_flatten_with_path(actual)[0]
    flat_expected = jax.tree.leaves(expected)
    assert len(flat_actual) == len(flat_expected)
    for (path, a), e in zip(flat_actual, flat_expected, strict=True):
        a = np.asarray(a, np.float64)
        e = np.asarray(e, np.float64)
        assert a.shape == e.shape, f"{jax.tree_util.keystr(path)}: shapes differ"
        np.testing.assert_array_equal(
            np.isnan(a), np.isnan(e), err_msg=f"NaNs differ at {path}"
        )
        a, e = np.nan_to_num(a, nan=0.0), np.nan_to_num(e, nan=0.0)
        axes = tuple(range(1, e.ndim))
        scale = np.maximum(np.max(np.abs(e), axis=axes, initial=0.0), 1e-6)
        error = np.max(np.abs(a - e), axis=axes, initial=0.0) / scale
        worst = int(np.argmax(error))
        assert error[worst] <= rtol, (
            f"{jax.tree_util.keystr(path)} differs by {error[worst]:.2e} (relative) "
            f"at step {worst}"
        )
