"""Type aliases shared by the public signatures."""

from collections.abc import Callable
from typing import Any, TypeAlias

import jax

Array: TypeAlias = jax.Array
ArrayLike: TypeAlias = jax.typing.ArrayLike
Numeric: TypeAlias = jax.Array | float | int

# A pytree of arrays. ``None`` leaves and empty subtrees are allowed.
Params: TypeAlias = Any
Updates: TypeAlias = Params
OptState: TypeAlias = Any

# A schedule maps a (possibly traced) integer step to a scalar.
Schedule: TypeAlias = Callable[[ArrayLike], ArrayLike]
ScalarOrSchedule: TypeAlias = float | jax.Array | Schedule

# A pytree of booleans shaped like the params, or a function that builds one.
MaskOrFn: TypeAlias = Any | Callable[[Params], Any]
