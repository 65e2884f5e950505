"""Strict JAX settings for the whole test suite.

Strict dtype promotion and an error on implicit rank promotion catch mixed
dtypes and accidental broadcasting inside optgrad. optax itself does not run
under these settings, so reference computations use
``helpers.reference_mode()``.
"""

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    """A fixed PRNG key."""
    return jax.random.key(0)
