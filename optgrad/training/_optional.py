"""Imports of the optional packages, each with an error that tells how to install it.

The core of optgrad depends on JAX only. Flax, scikit-learn, matplotlib and
tqdm come with the ``tasks`` extra and are imported here, at the moment a
feature that needs one runs.
"""

import importlib
import sys
from types import ModuleType
from typing import Any


def import_optional(module: str, package: str, feature: str) -> ModuleType:
    """Import ``module`` or raise ``ImportError`` naming the feature and the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{feature} needs {package}, which is not installed. Install it with "
            f"`pip install {package}`, or `pip install '.[tasks]'` in the optgrad "
            "repository."
        ) from error


def import_matplotlib_figure(feature: str) -> Any:
    """Return ``matplotlib.figure.Figure``, which draws without a display."""
    return import_optional("matplotlib.figure", "matplotlib", feature).Figure


def import_tqdm(feature: str) -> Any:
    """Return the text progress bar class ``tqdm.tqdm``.

    The text bar rather than ``tqdm.auto`` works in notebooks without
    ipywidgets too.
    """
    return import_optional("tqdm", "tqdm", feature).tqdm


def is_nnx_module(value: Any) -> bool:
    """Tell whether ``value`` is a Flax NNX module without importing Flax.

    A module instance can only exist once Flax has been imported, so when
    ``flax.nnx`` is not in ``sys.modules`` this returns ``False``.
    """
    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(value, nnx.Module)
