"""Hooks that ``fit`` calls between epochs, and early stopping."""

import math
from typing import Any

import numpy as np

from optgrad.training._history import History

# Endings of a series name that tell the direction of improvement. The
# built-in tasks record accuracy, sequence_accuracy, r2, mean_iou and dice.
_MINIMIZED = (
    "loss",
    "error",
    "mse",
    "rmse",
    "mae",
    "mape",
    "nll",
    "cross_entropy",
    "perplexity",
)
_MAXIMIZED = (
    "accuracy",
    "acc",
    "r2",
    "iou",
    "dice",
    "auc",
    "f1",
    "precision",
    "recall",
)


def _guess_mode(monitor: str) -> str | None:
    """Return ``"min"`` or ``"max"`` from the ending of ``monitor``, else ``None``.

    An ending counts only as the whole name or after an underscore, so
    ``val_mean_iou`` is maximized but ``val_hinge`` matches nothing.
    """
    name = monitor.lower()
    # A negated error (scikit-learn's ``neg_mean_squared_error``) improves
    # upwards although it ends like an error, so the ending cannot tell.
    if {"neg", "negative"} & set(name.split("_")):
        return None

    def ends_with(words: tuple[str, ...]) -> bool:
        return any(name == word or name.endswith("_" + word) for word in words)

    if ends_with(_MINIMIZED):
        return "min"
    if ends_with(_MAXIMIZED):
        return "max"
    return None


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
        mode: ``"min"``, ``"max"``, or ``"auto"``. ``"auto"`` minimizes
            names that end in ``loss``, ``error``, ``mse``, ``rmse``,
            ``mae``, ``mape``, ``nll``, ``cross_entropy`` or ``perplexity``
            and maximizes names that end in ``accuracy``, ``acc``, ``r2``,
            ``iou``, ``dice``, ``auc``, ``f1``, ``precision`` or ``recall``
            (after an underscore, or as the whole name). Any other name,
            and any name with a ``neg`` or ``negative`` part, needs
            ``"min"`` or ``"max"``.
        min_delta: The smallest change that counts as an improvement.
        restore_best: Return the params of the best epoch rather than the
            last ones.

    Raises:
        ValueError: For an invalid argument, or ``mode="auto"`` with a
            ``monitor`` name that does not tell the direction.

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
        if not isinstance(monitor, str):
            raise TypeError(
                "EarlyStopping(monitor=...) must be the name of a series, such as "
                f"'val_loss', got {type(monitor).__name__}."
            )
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
            mode = _guess_mode(monitor)
            if mode is None:
                raise ValueError(
                    f"EarlyStopping(monitor={monitor!r}, mode='auto') cannot tell "
                    "whether this series improves by going down or up. Pass "
                    "mode='min' or mode='max'."
                )
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


class TerminateOnNaN(Callback):
    """Stop training after an epoch in which a step's loss was not finite.

    Once the loss is NaN or infinite the params usually are too, and later
    epochs only spend time on NaN arithmetic. With this callback ``fit`` stops
    after the first such epoch. It returns the params as they are then, so
    check them, or lower the learning rate and train again.

    Attributes:
        stopped_epoch: The epoch (numbered from 0) with a non-finite loss, or
            ``None`` when every loss was finite.
        first_bad_step: The index in ``History.loss`` of the first step whose
            loss was not finite, or ``None``.
    """

    def __init__(self):
        self.stopped_epoch: int | None = None
        self.first_bad_step: int | None = None

    def on_train_begin(self, params: Any, history: History) -> None:
        del params, history
        self.stopped_epoch = None
        self.first_bad_step = None

    def on_epoch_end(self, epoch: int, params: Any, history: History) -> bool:
        del params
        ends = history.epoch_end_step
        start = ends[-2] if len(ends) > 1 else 0
        bad = ~np.isfinite(history.loss[start:])
        if not bad.any():
            return False
        self.stopped_epoch = epoch
        self.first_bad_step = start + int(np.argmax(bad))
        return True
