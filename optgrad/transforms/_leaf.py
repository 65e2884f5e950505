"""Dtype handling for the per-leaf maths of a transform.

Each transform computes a leaf in the promoted compute dtype of the
incoming update and of its state leaves, which is float32 for 16-bit floats.
Hyperparameters are cast to that dtype before use, so the code runs under
strict dtype promotion and 16-bit inputs get float32 arithmetic.
"""

from typing import Any

import jax
import jax.numpy as jnp

from optgrad import tree


def compute_dtype_of(*leaves: Any) -> Any:
    """Return the dtype that arithmetic on ``leaves`` runs in.

    It is JAX's promotion of each leaf's compute dtype, so float16 and
    bfloat16 leaves are computed in float32.
    """
    return tree.promote(*[tree.compute_dtype(jnp.asarray(x).dtype) for x in leaves])


def cast_to(dtype: Any, *values: Any) -> list[jax.Array]:
    """Return ``values`` (arrays or Python scalars) as arrays of ``dtype``."""
    return [jnp.asarray(value).astype(dtype) for value in values]


def leaf_flags(mask_tree: Any, params: Any, call: str) -> Any:
    """Return, for each leaf of ``params``, the boolean of ``mask_tree`` over it.

    ``mask_tree`` has the structure of ``params`` or is a prefix of it, where
    one boolean covers a whole subtree. The result has the structure of
    ``params``.
    """
    try:
        return jax.tree.map(
            lambda keep, subtree: jax.tree.map(lambda _: bool(keep), subtree),
            mask_tree,
            params,
        )
    except ValueError as error:
        raise ValueError(
            f"{call}: the mask must have the structure of the params, or be a "
            f"prefix of it.\n  mask: {jax.tree.structure(mask_tree)}\n"
            f"  params: {jax.tree.structure(params)}"
        ) from error
