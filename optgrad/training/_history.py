"""The record of a training run: per-step norms and per-epoch metrics."""

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass(repr=False)
class History:
    """The measurements of a ``fit`` run, as NumPy arrays and lists on the host.

    Attributes:
        loss: Training loss of every step, in order (float32, one per step).
        grad_norm: Global 2-norm of the gradient of every step.
        update_norm: Global 2-norm of the update the optimizer returned at
            every step.
        epoch_end_step: For each finished epoch, the number of steps taken
            so far, so ``loss[:epoch_end_step[0]]`` are the first epoch's
            steps.
        epochs: Per-epoch values by name. ``"train_loss"`` is the mean step
            loss of the epoch, weighted by batch size. ``"val_loss"`` and
            ``"val_<metric>"`` are measured on the validation data after the
            epoch, ``"train_<metric>"`` on the training data, and
            ``"train_<aux>"`` are batch-size-weighted means of the auxiliary
            values returned with ``has_aux=True``.
        epoch_seconds: Wall time of each epoch, including its evaluation.
            The first epoch includes compilation.
    """

    loss: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, np.float32)
    )
    grad_norm: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, np.float32)
    )
    update_norm: np.ndarray = dataclasses.field(
        default_factory=lambda: np.zeros(0, np.float32)
    )
    epoch_end_step: list[int] = dataclasses.field(default_factory=list)
    epochs: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)

    def __repr__(self) -> str:
        # The per-step arrays can hold millions of values, so only the last
        # value of each per-epoch series is shown.
        last = ", ".join(
            f"{name!r}: {values[-1]:.4g}"
            for name, values in self.epochs.items()
            if values
        )
        return (
            f"History(num_steps={self.num_steps}, num_epochs={self.num_epochs}, "
            f"last={{{last}}})"
        )

    @property
    def num_steps(self) -> int:
        """The number of optimizer steps taken."""
        return int(self.loss.shape[0])

    @property
    def num_epochs(self) -> int:
        """The number of epochs finished."""
        return len(self.epoch_end_step)

    def last(self, name: str) -> float:
        """Return the value of a per-epoch series after the last epoch.

        Raises:
            KeyError: When no series has that name; the message lists the
                names that exist.
        """
        if name not in self.epochs or not self.epochs[name]:
            raise KeyError(
                f"History has no per-epoch series {name!r}; the series are "
                f"{sorted(self.epochs)}."
            )
        return self.epochs[name][-1]

    def append_epoch(
        self,
        loss: np.ndarray,
        grad_norm: np.ndarray,
        update_norm: np.ndarray,
        values: dict[str, float],
        seconds: float,
    ) -> None:
        """Add one epoch's per-step arrays and per-epoch values."""
        self.loss = np.concatenate([self.loss, np.asarray(loss, np.float32)])
        self.grad_norm = np.concatenate(
            [self.grad_norm, np.asarray(grad_norm, np.float32)]
        )
        self.update_norm = np.concatenate(
            [self.update_norm, np.asarray(update_norm, np.float32)]
        )
        self.epoch_end_step.append(self.num_steps)
        for name, value in values.items():
            self.epochs.setdefault(name, []).append(float(value))
        self.epoch_seconds.append(float(seconds))

    def to_dict(self) -> dict[str, Any]:
        """Return the per-epoch record as plain lists, ready for ``json.dump``.

        Per-step arrays are left out because they can be long; read them from
        the attributes.
        """
        record: dict[str, Any] = {"epoch": list(range(1, self.num_epochs + 1))}
        record["steps"] = list(self.epoch_end_step)
        record.update({name: list(values) for name, values in self.epochs.items()})
        record["seconds"] = list(self.epoch_seconds)
        return record

    def plot(self, *, figure: Any = None, log_scale: bool = True) -> Any:
        """Draw the loss, the norms and the per-epoch metrics with matplotlib.

        The figure has up to three panels: the step loss with the per-epoch
        train and validation loss on the same step axis, the gradient and
        update norms, and the per-epoch metrics other than losses. It is
        created with ``matplotlib.figure.Figure`` rather than ``pyplot``, so
        it needs no display and works with the Agg backend; save it with
        ``figure.savefig(path)``.

        Args:
            figure: A ``matplotlib.figure.Figure`` to draw into; a new one
                when ``None``.
            log_scale: Use a log scale for the losses and norms when all
                values are positive.

        Returns:
            The ``matplotlib.figure.Figure``.

        Raises:
            ImportError: When matplotlib is not installed.
        """
        from optgrad.training._optional import import_matplotlib_figure

        figure_class = import_matplotlib_figure("History.plot")
        metric_names = [name for name in self.epochs if not name.endswith("loss")]
        panels = 3 if metric_names else 2
        if figure is None:
            figure = figure_class(figsize=(4.2 * panels, 3.4), layout="constrained")
        axes = figure.subplots(1, panels, squeeze=False)[0]
        steps = np.arange(1, self.num_steps + 1)
        epoch_steps = np.asarray(self.epoch_end_step)

        loss_axis = axes[0]
        loss_axis.plot(steps, self.loss, lw=0.6, alpha=0.5, label="step loss")
        for name in ("train_loss", "val_loss"):
            if name in self.epochs:
                loss_axis.plot(epoch_steps, self.epochs[name], marker=".", label=name)
        loss_axis.set_xlabel("step")
        loss_axis.set_title("loss")
        _maybe_log(loss_axis, self.loss, log_scale)
        loss_axis.legend()

        norm_axis = axes[1]
        norm_axis.plot(steps, self.grad_norm, lw=0.6, label="gradient norm")
        norm_axis.plot(steps, self.update_norm, lw=0.6, label="update norm")
        norm_axis.set_xlabel("step")
        norm_axis.set_title("norms")
        _maybe_log(
            norm_axis, np.concatenate([self.grad_norm, self.update_norm]), log_scale
        )
        norm_axis.legend()

        if metric_names:
            metric_axis = axes[2]
            epoch_numbers = np.arange(1, self.num_epochs + 1)
            for name in metric_names:
                metric_axis.plot(
                    epoch_numbers, self.epochs[name], marker=".", label=name
                )
            metric_axis.set_xlabel("epoch")
            metric_axis.set_title("metrics")
            metric_axis.legend()
        return figure


def _maybe_log(axis: Any, values: np.ndarray, log_scale: bool) -> None:
    finite = values[np.isfinite(values)]
    if log_scale and finite.size and np.all(finite > 0):
        axis.set_yscale("log")
