"""Trace-time checks of pytrees, with leaf paths in the error messages.

Every check here runs in Python while a function is traced, so it costs
nothing when the compiled step runs.
"""

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

# At most this many bad leaves are listed in one message.
_MAX_LISTED = 8


def leaf_path(path: Sequence[Any]) -> str:
    """Format a key path as ``jax.tree_util.keystr`` does; ``<root>`` if empty."""
    return jax.tree_util.keystr(tuple(path)) or "<root>"


def _is_none(x: Any) -> bool:
    return x is None


def _leaves_with_paths(tree: Any) -> list[tuple[str, Any]]:
    # ``None`` counts as a leaf here, so that a ``None`` in one tree against an
    # array in the other is reported at its path.
    flat, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_none)
    return [(leaf_path(path), leaf) for path, leaf in flat]


def _shape(leaf: Any) -> tuple[int, ...] | None:
    if leaf is None:
        return None
    return tuple(np.shape(leaf))


def _describe_structure(tree: Any, limit: int = 400) -> str:
    text = str(jax.tree.structure(tree))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _structure_error(where: str, name_a: str, tree_a: Any, name_b: str, tree_b: Any):
    paths_a = [path for path, _ in _leaves_with_paths(tree_a)]
    paths_b = [path for path, _ in _leaves_with_paths(tree_b)]
    set_a, set_b = set(paths_a), set(paths_b)
    only_a = [p for p in paths_a if p not in set_b]
    only_b = [p for p in paths_b if p not in set_a]
    lines = [f"{where}: {name_a} and {name_b} have different tree structures."]
    if only_a:
        lines.append(f"  leaves only in {name_a}: {', '.join(only_a[:_MAX_LISTED])}")
    if only_b:
        lines.append(f"  leaves only in {name_b}: {', '.join(only_b[:_MAX_LISTED])}")
    if not only_a and not only_b:
        lines.append("  the leaf paths agree but the container types differ.")
    lines.append(f"  {name_a}: {_describe_structure(tree_a)}")
    lines.append(f"  {name_b}: {_describe_structure(tree_b)}")
    # Either tree may be the faulty one (gradients of part of the model, or
    # params that gained a leaf), so the hint does not say which to change.
    hint = f"  Pass {name_a} and {name_b} with the same structure."
    if "updates" in (name_a, name_b):
        hint += (
            " The gradients, the params and the optimizer state must all follow "
            "the params tree that the optimizer was initialized with."
        )
    lines.append(hint)
    return ValueError("\n".join(lines))


def check_same_shapes(
    where: str,
    reference: tuple[str, Any],
    *others: tuple[str, Any],
    float_reference: bool = True,
):
    """Raise unless every tree matches the reference tree.

    Trees match when they have the same structure and every leaf has the same
    shape. A tree given as ``None`` is skipped, so optional params can be
    passed straight through. Every transform calls this first in ``update``
    with the updates as the reference, so the reference's leaves must also be
    floating-point or complex arrays, because integer gradients would
    otherwise give integer updates.

    Args:
        where: The call to name in the message, such as ``"adam.update"``.
        reference: ``(name, tree)``, usually the updates.
        *others: ``(name, tree)`` pairs to compare with the reference.
        float_reference: Check the dtypes of the reference's leaves.
            ``apply_updates`` and ``incremental_update`` turn this off,
            because their reference is the params.

    Raises:
        ValueError: Naming the first differing leaf path (every differing leaf
            up to a limit) with the expected and actual shapes, or both
            structures when they differ.
        TypeError: With ``float_reference``, for reference leaves that are
            integer or boolean, or Python numbers rather than arrays, listing
            their paths and dtypes.
    """
    ref_name, ref_tree = reference
    ref_def = jax.tree.structure(ref_tree, is_leaf=_is_none)
    for name, tree in others:
        if tree is None:
            continue
        if jax.tree.structure(tree, is_leaf=_is_none) != ref_def:
            raise _structure_error(where, ref_name, ref_tree, name, tree)
        bad = []
        for (path, ref_leaf), (_, leaf) in zip(
            _leaves_with_paths(ref_tree), _leaves_with_paths(tree), strict=True
        ):
            expected, actual = _shape(ref_leaf), _shape(leaf)
            if expected != actual:
                bad.append((path, expected, actual))
        if bad:
            raise _shape_error(where, ref_name, name, bad)
    if float_reference:
        _check_float_leaves(where, ref_name, ref_tree)


def _check_float_leaves(where: str, name: str, tree: Any) -> None:
    scalars = [
        (path, type(leaf).__name__)
        for path, leaf in _leaves_with_paths(tree)
        if isinstance(leaf, bool | int | float | complex)
    ]
    integers = _non_float_leaves(tree, skip_python_numbers=True)
    if integers:
        raise _non_float_error(
            where,
            name,
            integers,
            f"Cast these {name} to the float dtype of their params, for example "
            "jax.tree.map(lambda g, p: g.astype(p.dtype), grads, params).",
        )
    if scalars:
        lines = [
            f"{where}: {name} must be arrays, but {_count_leaves(scalars)} "
            f"{'a Python number' if len(scalars) == 1 else 'Python numbers'} "
            f"(first: {scalars[0][0]})."
        ]
        lines += _list_leaves(scalars, "Python ")
        lines.append(
            "  Pass arrays, such as jnp.asarray(value), or wrap the transform in "
            "optgrad.chain, which converts Python numbers."
        )
        raise TypeError("\n".join(lines))


def _non_float_leaves(tree: Any, *, skip_python_numbers: bool) -> list:
    """Return ``(path, dtype name)`` of the leaves that are not float or complex."""
    bad = []
    for path, leaf in _leaves_with_paths(tree):
        if leaf is None:
            continue
        if skip_python_numbers and isinstance(leaf, bool | int | float | complex):
            continue
        dtype = _leaf_dtype(leaf)
        if not jnp.issubdtype(dtype, jnp.inexact):
            bad.append((path, getattr(dtype, "name", dtype)))
    return bad


def _non_float_error(where: str, name: str, bad: list, advice: str) -> TypeError:
    lines = [
        f"{where}: {name} must be floating-point or complex, but "
        f"{_count_leaves(bad)} not (first: {bad[0][0]})."
    ]
    lines += _list_leaves(bad, "dtype ")
    lines.append(f"  {advice}")
    return TypeError("\n".join(lines))


def _count_leaves(bad: list) -> str:
    return f"{len(bad)} {'leaf is' if len(bad) == 1 else 'leaves are'}"


def _list_leaves(bad: list, prefix: str) -> list[str]:
    lines = [f"  {path}: {prefix}{kind}" for path, kind in bad[:_MAX_LISTED]]
    if len(bad) > _MAX_LISTED:
        lines.append(f"  ... and {len(bad) - _MAX_LISTED} more")
    return lines


def _shape_error(where: str, ref_name: str, name: str, bad: list) -> ValueError:
    lines = [
        f"{where}: {name} do not match {ref_name} at {len(bad)} leaf "
        f"{'path' if len(bad) == 1 else 'paths'} (first: {bad[0][0]})."
    ]
    for path, expected, actual in bad[:_MAX_LISTED]:
        lines.append(
            f"  {path}: {ref_name} have {_fmt_shape(expected)}, "
            f"{name} have {_fmt_shape(actual)}"
        )
    if len(bad) > _MAX_LISTED:
        lines.append(f"  ... and {len(bad) - _MAX_LISTED} more")
    return ValueError("\n".join(lines))


def _fmt_shape(shape: tuple[int, ...] | None) -> str:
    return "None" if shape is None else f"shape {shape}"


def _leaf_dtype(leaf: Any) -> Any:
    dtype = getattr(leaf, "dtype", None)
    return dtype if dtype is not None else jnp.result_type(leaf)


def check_float_params(where: str, params: Any) -> None:
    """Raise ``TypeError`` if a params leaf is not floating-point or complex.

    Gradient updates to integer or boolean params would be truncated when
    applied, so optimizers reject them when they are initialized.

    Args:
        where: The call to name in the message, such as ``"adam.init"``.
        params: The params pytree.

    Raises:
        TypeError: Listing every offending leaf path with its dtype.
    """
    bad = _non_float_leaves(params, skip_python_numbers=False)
    if bad:
        raise _non_float_error(
            where,
            "params",
            bad,
            "Cast these leaves to a float dtype, or keep them out of the optimizer "
            "with optgrad.masked or optgrad.partition.",
        )
