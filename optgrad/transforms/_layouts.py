"""Running a transformation on all params as one vector: ``flatten``."""

import math

import jax
import jax.numpy as jnp

from optgrad import tree
from optgrad._base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    with_extra_args_support,
)
from optgrad.transforms._wrapping import check_transformation


def _concatenate(leaves: list[jax.Array]) -> jax.Array:
    """Join the raveled leaves into one vector in their promoted dtype."""
    if not leaves:
        return jnp.zeros([0], jnp.float32)
    dtype = tree.promote(*[leaf.dtype for leaf in leaves])
    return jnp.concatenate([jnp.ravel(leaf).astype(dtype) for leaf in leaves])


def flatten(inner: GradientTransformation) -> GradientTransformationExtraArgs:
    """Run ``inner`` on all leaves joined into one vector.

    A transformation applied to thousands of small arrays pays a kernel
    launch per array, and on one long vector it pays a few. The cost is a copy
    of the updates (and of the params when given) on every step.

    Args:
        inner: The transformation to run on the joined vector. It must
            treat elements independently or through global reductions
            (Adam, SGD, global-norm clipping). Per-array ones, such as
            unitwise clipping, see only one array.

    Returns:
        A ``GradientTransformationExtraArgs`` whose state is the state of
        ``inner`` for the joined vector.

    Notes:
        Leaves of different dtypes are joined in their promoted dtype and
        each output leaf is cast back to its own dtype. optax 0.2.8 joins
        them with implicit promotion. A tree without leaves becomes an
        empty float32 vector instead of an error.
    """
    check_transformation("flatten", "inner", inner)
    inner = with_extra_args_support(inner)

    def split(like, flat):
        leaves, treedef = jax.tree.flatten(like)
        pieces = []
        offset = 0
        for leaf in leaves:
            size = math.prod(jnp.shape(leaf))
            piece = flat[offset : offset + size].reshape(jnp.shape(leaf))
            pieces.append(piece.astype(jnp.asarray(leaf).dtype))
            offset += size
        return treedef.unflatten(pieces)

    def init_fn(params):
        return inner.init(_concatenate(jax.tree.leaves(params)))

    def update_fn(updates, state, params=None, **extra_args):
        tree.check_same_shapes(
            "flatten.update", ("updates", updates), ("params", params)
        )
        flat_params = None
        if params is not None:
            flat_params = _concatenate(jax.tree.leaves(params))
        flat_updates, state = inner.update(
            _concatenate(jax.tree.leaves(updates)), state, flat_params, **extra_args
        )
        return split(updates, flat_updates), state

    return GradientTransformationExtraArgs(init_fn, update_fn)
