"""Dtype rules shared by the transforms.

Arithmetic on 16-bit floats loses too much: ``0.999`` rounds to ``1.0`` in
bfloat16, and ``1e-8`` flushes to zero in float16. Transforms therefore
compute in at least float32 and cast their outputs back to the incoming
dtype, and keep moments of 16-bit params in float32 unless asked otherwise.

Every dtype these helpers return is canonical: with ``jax_enable_x64`` off,
float64 becomes float32 and complex128 becomes complex64. Asking JAX for a
64-bit dtype that is not enabled emits a ``UserWarning``, which NumPy
float64 params would otherwise trigger on every call.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _canonical(dtype: Any) -> Any:
    # Extended dtypes (PRNG keys) have no 64-bit form and pass unchanged.
    return jax.dtypes.canonicalize_dtype(dtype, allow_extended_dtype=True)


def compute_dtype(dtype: Any) -> Any:
    """Return the dtype arithmetic on ``dtype`` values runs in.

    16-bit floats widen to float32; float32, float64 and complex dtypes stay
    (float64 and complex128 as float32 and complex64 unless x64 is enabled).
    """
    dtype = _canonical(dtype)
    if jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize < 4:
        return jnp.dtype(jnp.float32)
    return dtype


def moment_dtype(param_dtype: Any, requested: Any | None = None) -> Any:
    """Return the dtype of a moment kept for params of ``param_dtype``.

    Args:
        param_dtype: The dtype of the param leaf.
        requested: A dtype set by the user (``mu_dtype``, say), used as is
            apart from canonicalization.
    """
    if requested is not None:
        return _canonical(requested)
    return compute_dtype(param_dtype)


def real_dtype(dtype: Any) -> Any:
    """Return the real counterpart of ``dtype`` (float32 for complex64)."""
    return jnp.finfo(dtype).dtype


def widen(x: Any) -> jax.Array:
    """Return ``x`` as an array in its compute dtype."""
    x = jnp.asarray(x)
    return x.astype(compute_dtype(x.dtype))


def leaf_dtype(x: Any) -> Any:
    """Return the canonical dtype of a leaf, which may be a Python scalar."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return jnp.result_type(x)
    return _canonical(dtype)


def promote(*dtypes: Any) -> Any:
    """Return JAX's standard promotion of ``dtypes``, whatever the promotion mode.

    optgrad casts explicitly, so it also runs with
    ``jax_numpy_dtype_promotion="strict"``; this helper picks the common
    dtype that those casts target.
    """
    with jax.numpy_dtype_promotion("standard"):
        return jnp.result_type(*dtypes)


def as_jax_arrays(tree: Any) -> Any:
    """Return ``tree`` with Python numbers and NumPy arrays as JAX arrays.

    JAX arrays, tracers and other leaves are returned as they are. The
    transforms read ``.dtype`` and ``.shape`` of their leaves, and NumPy
    float64 leaves would ask for float64 results that JAX without x64 does
    not have, so ``chain`` converts such leaves once on the way in.
    """

    def convert(x):
        if isinstance(x, int | float | complex | np.ndarray | np.generic):
            return jnp.asarray(x)
        return x

    return jax.tree.map(convert, tree)
