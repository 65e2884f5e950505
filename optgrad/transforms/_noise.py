"""Annealed Gaussian gradient noise: ``add_noise``."""

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optgrad import _validate, tree
from optgrad._base import GradientTransformation
from optgrad._numerics import safe_increment
from optgrad.transforms._leaf import cast_to


class AddNoiseState(NamedTuple):
    """State of ``add_noise``."""

    count: jax.Array  # int32 scalar: the number of updates so far.
    # The raw uint32 data of the PRNG key (``jax.random.key_data``), which
    # ``flax.serialization`` can store, unlike a typed key array.
    rng_key: jax.Array


def _key_impl(key: Any) -> Any:
    """Return the PRNG implementation of a typed key, else ``None`` (default)."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_impl(key)
    return None


def _key_data(key: Any) -> jax.Array:
    """Return the raw data of ``key``: a typed key, raw key data or an int seed."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    if np.ndim(key) == 0:
        return jax.random.key_data(jax.random.key(key))
    return jnp.asarray(key, jnp.uint32)


def add_noise(
    eta: float,
    gamma: float,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> GradientTransformation:
    r"""Add Gaussian noise whose variance decays with the step count.

    At step :math:`t = 1, 2, \dots` the noise has variance
    :math:`\eta / t^\gamma`. One key per leaf is split off a fresh key at
    every step, exactly as optax 0.2.8 does, so the same ``key`` gives the
    same noise for float32 updates.

    Args:
        eta: The variance at the first step, >= 0.
        gamma: The decay exponent of the variance.
        key: A PRNG key (``jax.random.key`` or the older raw
            ``jax.random.PRNGKey``) or an integer seed. ``None`` uses seed 0
            and warns, because every run then draws the same noise.
        seed: An integer seed, accepted for compatibility with optax; pass
            ``key`` instead.

    Returns:
        A ``GradientTransformation`` with an ``AddNoiseState``.

    Notes:
        The noise for float16 and bfloat16 updates is drawn in float32 and
        the sum is cast back, so it is not the noise that optax draws in the
        16-bit dtype. The state stores the key's raw data, not a typed key
        array as optax does, so that ``flax.serialization`` can store it.

    References:
        Neelakantan et al., "Adding Gradient Noise Improves Learning for Very
        Deep Networks", 2015, https://arxiv.org/abs/1511.06807
    """
    name = "add_noise"
    _validate.check_non_negative(name, "eta", eta)
    _validate.check_range(name, "gamma", gamma)
    if seed is not None:
        if key is not None:
            raise ValueError(
                f"{name}(key=..., seed=...) got both a key and a seed. Pass only "
                "key=...; seed is its older name."
            )
        warnings.warn(
            f"{name}(seed=...) is kept for compatibility with optax; pass "
            "key=... instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        key = seed
    if key is None:
        warnings.warn(
            f"{name}(key=None) uses seed 0, so every run draws the same noise. "
            "Pass key=jax.random.key(seed).",
            UserWarning,
            stacklevel=2,
        )
        key = 0
    impl = _key_impl(key)

    def init_fn(params):
        tree.check_float_params(f"{name}.init", params)
        return AddNoiseState(count=jnp.zeros([], jnp.int32), rng_key=_key_data(key))

    def update_fn(updates, state, params=None):
        tree.check_same_shapes(
            f"{name}.update", ("updates", updates), ("params", params)
        )
        count = safe_increment(state.count)
        eta_, gamma_, count_ = cast_to(jnp.float32, eta, gamma, count)
        std = jnp.sqrt(eta_ / count_**gamma_)
        next_key, sample_key = jax.random.split(
            jax.random.wrap_key_data(state.rng_key, impl=impl)
        )
        leaves, treedef = jax.tree.flatten(updates)
        leaf_keys = jax.random.split(sample_key, len(leaves))
        noisy = []
        for g, leaf_key in zip(leaves, leaf_keys, strict=True):
            g_wide = tree.widen(g)
            noise = jax.random.normal(leaf_key, g.shape, g_wide.dtype)
            noisy.append((g_wide + std.astype(g_wide.dtype) * noise).astype(g.dtype))
        new_state = AddNoiseState(count=count, rng_key=jax.random.key_data(next_key))
        return treedef.unflatten(noisy), new_state

    return GradientTransformation(init_fn, update_fn)
