"""Small fixtures for transform tests: a params tree and a few jitted steps."""

import jax
import jax.numpy as jnp
import numpy as np


def params_tree(dtype=jnp.float32):
    """Params with a matrix, a vector, a scalar and a ``None`` leaf."""
    rng = np.random.default_rng(7)
    return {
        "w": jnp.asarray(rng.normal(size=(3, 4)), dtype),
        "b": jnp.asarray(rng.normal(size=(4,)), dtype),
        "s": jnp.asarray(rng.normal(), dtype),
        "none": None,
    }


def gradient_sequence(params, steps, seed=11, scale=1.0):
    """``steps`` gradient trees shaped like ``params`` with mixed signs."""
    rng = np.random.default_rng(seed)
    return [
        jax.tree.map(
            lambda p: jnp.asarray(scale * rng.normal(size=p.shape), p.dtype), params
        )
        for _ in range(steps)
    ]


def run_updates(tx, params, grads_seq, **extra_args):
    """Return the updates of each step and the last state; ``update`` is jitted."""
    state = tx.init(params)
    update = jax.jit(tx.update)
    outputs = []
    for grads in grads_seq:
        updates, state = update(grads, state, params, **extra_args)
        outputs.append(updates)
    return outputs, state


def numpy_leaves(tree):
    """The leaves of ``tree`` as float64 NumPy arrays, ``None`` leaves skipped."""
    return [np.asarray(x, np.float64) for x in jax.tree.leaves(tree)]
