"""Test helpers shared by the loss test modules."""

import jax
from jax.test_util import check_grads as _check_grads


def check_grads(fn, args, order, modes=("fwd", "rev")):
    """Compare ``fn``'s derivatives with finite differences, with ``fn`` jitted.

    Jitting compiles a few programs instead of dispatching every primitive
    eagerly, which keeps these tests fast.
    """
    _check_grads(jax.jit(fn), args, order=order, modes=modes)
