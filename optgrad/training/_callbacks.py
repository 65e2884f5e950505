"""Hooks that ``fit`` calls between epochs, and early stopping."""

import math
from typing import Any

from optgrad.training._history import History

# Substrings of a series name that mark a quantity to minimize.
_MINIMIZED = ("loss", "error", "mse", "mae")


class Callback:
    """Base class of the objects passed to ``fit(callbacks=[...])``.

    Override the hooks you need; the defaults do nothing. ``params`` is what
    ``fit`` returns: the params pytree, or a Flax NNX module rebuilt from the
    current state (a new object each epoch).
    """

    def on_train_begin(self, params: Any, history: History) -> None:
        """Run once before the first epoch."""

    def on_epoch_end(self, epoch: int, params: Any, history: History) -> bool:
        """Run after each epoch (numbered from 0) and its evaluation.

        Returns:
            ``True`` to stop training after this epoch.
        """
        del epoch, params, history
        return False

    def on_train_end(self, params: Any, history: History) -> Any:
        """Run once after the last epoch.

        Returns:
            Params (or a model) to return from ``fit`` in place of the last
            ones, or ``None`` to keep them.
        """
        del params, history
        return None


class EarlyStopping(Callback):
    """Stop when a per-epoch series has not improved for ``patience`` epochs.

    Args:
        monitor: The ``History.epochs`` series to watch, such as ``"val_loss"``
            or ``"val_accuracy"``.
        patience: Epochs without improvement to allow before stopping.
        mode: ``"min"``, ``"max"``, or ``"auto"``: minimize names that
            contain ``loss``, ``error``, ``mse`` or ``mae``, maximize others.
        min_delta: The smallest change that counts as an improvement.
        restore_best: Return the params of the best epoch rather than the
            last ones.

    Attributes:
        best_value: The best value seen (``None`` before the first epoch).
        best_epoch: The epoch of ``best_value``, numbered from 0.
        stopped_epoch: The epoch after which training stopped, or ``None``
            when it ran to the end.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        *,
        patience: int = 5,
        mode: str = "auto",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"EarlyStopping(mode={mode!r}) is invalid; use 'min', 'max' or 'auto'."
            )
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(
                f"EarlyStopping(patience={patience!r}) must be an integer >= 0."
            )
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping(min_delta={min_delta!r}) must be >= 0.")
        if mode == "auto":
            mode = "min" if any(word in monitor for word in _MINIMIZED) else "max"
        self.monitor = monitor
        self.patience = patience
        self.mode = mode
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.best_value: float | None = None
        self.best_epoch = 0
        self.stopped_epoch: int | None = None
        self._best_params: Any = None

    def on_train_begin(self, params: Any, history: History) -> None:
        del history
        self.best_value = None
        self.best_epoch = 0
        self.stopped_epoch = None
        self._best_params = params

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best_value is None:
            return True
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def on_epoch_end(self, epoch: int, params: Any, history: History) -> bool:
        if self.monitor not in history.epochs:
            raise ValueError(
                f"EarlyStopping(monitor={self.monitor!r}) found no such series; "
                f"fit recorded {sorted(history.epochs)}. Pass validation_data or "
                "metrics to fit, or monitor one of these."
            )
        value = history.epochs[self.monitor][-1]
        if self._improved(value):
            self.best_value = value
            self.best_epoch = epoch
            self._best_params = params
            return False
        if epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, params: Any, history: History) -> Any:
        del params, history
        if self.restore_best and self.best_value is not None:
            return self._best_params
        return None
