"""Small deterministic problems for optimizer tests."""

import jax
import jax.numpy as jnp
import numpy as np

_RNG = np.random.default_rng(0)


def _scales(shape):
    # Per-element curvature spanning 1e-3..1e2, so gradients do too.
    return jnp.asarray(10.0 ** _RNG.uniform(-3, 2, size=shape), jnp.float32)


SHAPES = {"dense": {"w": (4, 3), "b": (3,)}, "scalar": (), "embed": (5, 2)}
CURVATURE = jax.tree.map(_scales, SHAPES, is_leaf=lambda x: isinstance(x, tuple))
TARGET = jax.tree.map(
    lambda s: jnp.asarray(_RNG.normal(size=s), jnp.float32),
    SHAPES,
    is_leaf=lambda x: isinstance(x, tuple),
)


def initial_params(dtype=jnp.float32, seed=1):
    """Params of the test problem, away from the optimum."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda s: jnp.asarray(rng.normal(size=s) * 2.0, dtype),
        SHAPES,
        is_leaf=lambda x: isinstance(x, tuple),
    )


def loss(params):
    """A separable smooth loss: a weighted quadratic plus a small ripple."""

    def leaf(p, c, t):
        d = p.astype(jnp.float32) - t
        return jnp.sum(c * (0.5 * d * d + 0.1 * (1 - jnp.cos(d))))

    parts = jax.tree.leaves(jax.tree.map(leaf, params, CURVATURE, TARGET))
    return sum(parts[1:], parts[0])


def grad(params):
    """The gradient of ``loss``, in the dtype of the params."""
    g = jax.grad(loss)(params)
    return jax.tree.map(lambda gi, p: gi.astype(p.dtype), g, params)


def near_target_params(seed=2):
    """Params at a distance of about 0.5 per element from the optimum."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda t: t + jnp.asarray(rng.normal(size=t.shape) * 0.5, jnp.float32), TARGET
    )


def quadratic(params):
    """A plain quadratic with condition number 100 and optimum at TARGET."""

    def leaf(p, t):
        d = p.astype(jnp.float32) - t
        c = jnp.linspace(0.1, 10.0, d.size, dtype=jnp.float32).reshape(d.shape)
        return 0.5 * jnp.sum(c * d * d)

    parts = jax.tree.leaves(jax.tree.map(leaf, params, TARGET))
    return sum(parts[1:], parts[0])
