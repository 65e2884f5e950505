"""Finding and replacing named entries in nested optimizer states.

A state is a pytree of NamedTuples, dicts, tuples and arrays. An entry is
found by a name: a dict key, a NamedTuple field, or the class name of a
NamedTuple (the match is then the whole tuple). Paths use JAX's key
entries, except that a NamedTuple field is a ``NamedTupleKey`` that also
contains the tuple's class name, so that a filter can distinguish ``count``
of ``ScaleByAdamState`` from ``count`` of ``InjectStatefulHyperparamsState``.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

# At most this many names or paths are listed in one error message.
_MAX_LISTED = 20

KeyPath = tuple[Any, ...]
Filtering = Callable[[KeyPath, Any], bool]


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """Path entry for a field of a NamedTuple.

    Attributes:
        tuple_name: The class name of the NamedTuple, such as
            ``"ScaleByAdamState"``.
        name: The field name, such as ``"count"``.
    """

    tuple_name: str
    name: str

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


def _is_named_tuple(node: Any) -> bool:
    return isinstance(node, tuple) and hasattr(type(node), "_fields")


def _children(node: Any) -> list[tuple[Any, Any]]:
    """Return ``(key entry, child)`` for each direct child; ``[]`` for a leaf."""
    if _is_named_tuple(node):
        name = type(node).__name__
        return [(NamedTupleKey(name, f), getattr(node, f)) for f in node._fields]
    flat, _ = jax.tree_util.tree_flatten_with_path(
        node, is_leaf=lambda x: x is not node
    )
    if len(flat) == 1 and flat[0][0] == ():
        return []
    return [(path[0], child) for path, child in flat]


def _rebuild(node: Any, new_children: list[Any]) -> Any:
    """Return ``node`` with its direct children replaced, in ``_children`` order."""
    if _is_named_tuple(node):
        return type(node)(*new_children)
    _, treedef = jax.tree_util.tree_flatten(node, is_leaf=lambda x: x is not node)
    return treedef.unflatten(new_children)


def _has_key(node: Any, key: Any) -> bool:
    """Return whether ``node`` has an entry named ``key``, or is named ``key``."""
    if _is_named_tuple(node):
        return key in node._fields or type(node).__name__ == key
    return isinstance(node, dict) and key in node


def _entry(path: KeyPath, node: Any, key: Any) -> tuple[KeyPath, Any]:
    """Return the path and value of the entry ``key`` of a node that has it."""
    if _is_named_tuple(node):
        if type(node).__name__ == key:
            return path, node
        return (*path, NamedTupleKey(type(node).__name__, key)), getattr(node, key)
    return (*path, jax.tree_util.DictKey(key)), node[key]


def _find(node: Any, path: KeyPath, key: Any) -> list[tuple[KeyPath, Any]]:
    # The outermost nodes that have the key come first, in tree order; then
    # the matches nested inside each of them. This is the order of optax 0.2.8.
    holders = []

    def collect(current, current_path):
        if _has_key(current, key):
            holders.append((current_path, current))
            return
        for entry, child in _children(current):
            collect(child, (*current_path, entry))

    collect(node, path)
    found = [_entry(holder_path, holder, key) for holder_path, holder in holders]
    for holder_path, holder in holders:
        for entry, child in _children(holder):
            found.extend(_find(child, (*holder_path, entry), key))
    return found


def _names(tree: Any) -> list[str]:
    """Return the sorted names that ``get`` can find in ``tree``."""
    names: dict[str, None] = {}

    def visit(node):
        if _is_named_tuple(node):
            names[type(node).__name__] = None
            names.update(dict.fromkeys(node._fields))
        elif isinstance(node, dict):
            names.update(dict.fromkeys(str(k) for k in node))
        for _, child in _children(node):
            visit(child)

    visit(tree)
    return sorted(names)


def _listed(items: list[str]) -> str:
    text = ", ".join(items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        text += f", ... ({len(items) - _MAX_LISTED} more)"
    return text or "none"


def get_all_with_path(
    tree: Any, key: Any, filtering: Filtering | None = None
) -> list[tuple[KeyPath, Any]]:
    """Find every entry named ``key`` in ``tree``, with its path.

    ``key`` matches a dict key, a NamedTuple field, or the class name of a
    NamedTuple (the match is then the tuple itself). Matches nested inside
    other matches are found too.

    Args:
        tree: A pytree, usually an optimizer state.
        key: The name to look for.
        filtering: Keeps a match only if ``filtering(path, value)`` is true.

    Returns:
        A list of ``(path, value)``. A path is a tuple of JAX key entries in
        which NamedTuple fields are ``NamedTupleKey``; format it with
        ``jax.tree_util.keystr``. Outer matches come before the matches
        nested inside them.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=0.1)
        >>> state = opt.init(jnp.zeros(3))
        >>> [jax.tree_util.keystr(path) for path, _ in
        ...  optgrad.tree.get_all_with_path(state, "learning_rate")]
        ["InjectStatefulHyperparamsState.hyperparams['learning_rate']"]
    """
    found = _find(tree, (), key)
    if filtering is not None:
        found = [(path, value) for path, value in found if filtering(path, value)]
    return found


def get(
    tree: Any, key: Any, default: Any = None, filtering: Filtering | None = None
) -> Any:
    """Return the one entry named ``key`` in ``tree``, or ``default``.

    Args:
        tree: A pytree, usually an optimizer state.
        key: A dict key, a NamedTuple field or a NamedTuple class name.
        default: Returned when nothing matches.
        filtering: Keeps a match only if ``filtering(path, value)`` is true;
            use it to pick one of several matches.

    Returns:
        The value of the single match, or ``default``.

    Raises:
        KeyError: More than one entry matches; the message lists their paths.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> state = optgrad.adam(1e-3).init(jnp.zeros(3))
        >>> optgrad.tree.get(state, "count")
        Array(0, dtype=int32)
    """
    found = get_all_with_path(tree, key, filtering)
    if len(found) > 1:
        paths = [jax.tree_util.keystr(path) for path, _ in found]
        raise KeyError(
            f"optgrad.tree.get: {len(found)} entries are named {key!r}: "
            f"{_listed(paths)}. Pass filtering=lambda path, value: ... to keep "
            "one of them."
        )
    if not found:
        return default
    return found[0][1]


def set(tree: Any, filtering: Filtering | None = None, /, **kwargs: Any) -> Any:
    """Return a copy of ``tree`` with the entries named by ``kwargs`` replaced.

    Every entry that ``get_all_with_path(tree, name, filtering)`` finds is
    replaced by ``kwargs[name]``. Where one match lies inside another, the
    outer one is replaced. The input is not modified.

    Args:
        tree: A pytree, usually an optimizer state.
        filtering: Replaces a match only if ``filtering(path, value)`` is
            true. Positional only, so that it cannot clash with a name.
        **kwargs: The new value for each name.

    Returns:
        The new tree.

    Raises:
        KeyError: A name matches nothing; the message lists the names that
            exist.
        ValueError: Two names match the same entry (a field and the class
            name of the NamedTuple in it).

    Notes:
        optax 0.2.8 replaces a match only when it sits at most one level
        below a node that has the name, so a name nested deeper under such
        a node is found by ``get_all_with_path`` but left unchanged by
        ``set``. Here ``set`` replaces every match that
        ``get_all_with_path`` returns.

    Examples:
        >>> import jax.numpy as jnp
        >>> import optgrad
        >>> opt = optgrad.inject_hyperparams(optgrad.sgd)(learning_rate=0.1)
        >>> state = opt.init(jnp.zeros(3))
        >>> state = optgrad.tree.set(state, learning_rate=jnp.float32(0.01))
        >>> state.hyperparams["learning_rate"]
        Array(0.01, dtype=float32)
    """
    targets: dict[KeyPath, tuple[str, Any]] = {}
    for name, value in kwargs.items():
        found = get_all_with_path(tree, name, filtering)
        if not found:
            where = " that passes the filtering" if filtering is not None else ""
            raise KeyError(
                f"optgrad.tree.set: no entry named {name!r}{where} in the tree. "
                f"Names in the tree: {_listed(_names(tree))}."
            )
        for path, _ in found:
            if path in targets and targets[path][0] != name:
                raise ValueError(
                    f"optgrad.tree.set: {targets[path][0]!r} and {name!r} both name "
                    f"the entry at {jax.tree_util.keystr(path)}; pass only one."
                )
            targets[path] = (name, value)

    # Every proper prefix of a target path leads to a node that changes.
    on_the_way = {path[:length] for path in targets for length in range(len(path))}

    def replace(node, path):
        if path in targets:
            return targets[path][1]
        if path not in on_the_way:
            return node
        children = [replace(child, (*path, e)) for e, child in _children(node)]
        return _rebuild(node, children)

    return replace(tree, ())
