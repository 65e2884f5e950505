"""A callable pytree, standing in for an Equinox module in tests."""

import jax


@jax.tree_util.register_pytree_with_keys_class
class CallableMask:
    """A pytree of booleans that is also callable, like an Equinox module."""

    def __init__(self, **fields):
        self.fields = fields

    def __call__(self, *args):
        raise AssertionError("a mask tree must not be called")

    def __getitem__(self, key):
        return self.fields[key]

    def tree_flatten_with_keys(self):
        keys = sorted(self.fields)
        children = [(jax.tree_util.DictKey(k), self.fields[k]) for k in keys]
        return children, keys

    @classmethod
    def tree_unflatten(cls, keys, children):
        return cls(**dict(zip(keys, children, strict=True)))
