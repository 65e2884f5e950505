"""Settings for the tests that need 8 devices.

``tests/test_sharding.py`` runs this folder in a separate pytest process
with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``, because the
device count is fixed when JAX starts.
"""

import os
import sys

import jax
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_collection_modifyitems(config, items):
    if jax.device_count() >= 8:
        return
    skip = pytest.mark.skip(
        reason="needs 8 devices; run through tests/test_sharding.py"
    )
    for item in items:
        item.add_marker(skip)
