"""Training a task by name: optimizers, schedules, runs and comparisons."""

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax

import optgrad
from optgrad.tasks._data import Splits
from optgrad.tasks._registry import Task, TrainConfig, get_task
from optgrad.training import History, TerminateOnNaN, evaluate, fit
from optgrad.training._optional import import_matplotlib_figure

# The learning rate each optimizer gets when none is given. L-BFGS has none:
# its line search chooses every step.
DEFAULT_LEARNING_RATES: dict[str, float | None] = {
    "sgd": 0.1,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adagrad": 0.05,
    "rmsprop": 1e-3,
    "adam": 1e-3,
    "adamw": 1e-3,
    "lbfgs": None,
}

# The optimizers ``optgrad compare`` runs when none are named.
COMMON_OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
)

SCHEDULES = ("constant", "cosine", "warmup-cosine", "exponential", "plateau")


def _optimizer_factories() -> dict[str, Callable[[Any], Any]]:
    # Looked up when called, so that the table lists every name even where an
    # optimizer is missing from this build; calling it then raises.
    return {
        "sgd": lambda lr: optgrad.sgd(lr),
        "momentum": lambda lr: optgrad.sgd(lr, momentum=0.9),
        "nesterov": lambda lr: optgrad.sgd(lr, momentum=0.9, nesterov=True),
        "adagrad": lambda lr: optgrad.adagrad(lr),
        "rmsprop": lambda lr: optgrad.rmsprop(lr),
        "adam": lambda lr: optgrad.adam(lr),
        "adamw": lambda lr: optgrad.adamw(lr),
        "lbfgs": lambda lr: optgrad.lbfgs(learning_rate=lr),
    }


def optimizer_names() -> list[str]:
    """Return the optimizer names that ``train`` and the command accept."""
    return list(_optimizer_factories())


def resolve_learning_rate(task: Task, config: TrainConfig) -> float | None:
    """Return the learning rate a run uses.

    An explicit ``config.learning_rate`` wins. Otherwise the task's default
    optimizer gets the task's default rate and any other optimizer its entry
    in ``DEFAULT_LEARNING_RATES``.
    """
    if config.learning_rate is not None:
        return config.learning_rate
    if config.optimizer == task.defaults.optimizer:
        return task.defaults.learning_rate
    return DEFAULT_LEARNING_RATES[config.optimizer]


def build_optimizer(
    name: str,
    learning_rate: float | None,
    schedule: str,
    *,
    steps_per_epoch: int,
    epochs: int,
) -> Any:
    """Build an optimizer by name with a learning-rate schedule.

    Args:
        name: One of ``optimizer_names()``.
        learning_rate: The peak learning rate (``None`` only for L-BFGS).
        schedule: One of ``SCHEDULES``. ``cosine`` decays to 0 over the
            run. ``warmup-cosine`` rises linearly over the first 5% of the
            steps and then decays to 0. ``exponential`` decays to 1% of the
            peak. ``plateau`` halves the updates after 3 epochs in a row
            whose mean training loss did not improve on the best.
        steps_per_epoch: Optimizer steps in one epoch.
        epochs: Epochs in the run.

    Raises:
        ValueError: For an unknown optimizer or schedule name, or a schedule
            with L-BFGS.
    """
    factories = _optimizer_factories()
    if name not in factories:
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(factories)}."
        )
    if schedule not in SCHEDULES:
        raise ValueError(
            f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}."
        )
    if name == "lbfgs":
        if schedule != "constant":
            raise ValueError(
                f"the schedule {schedule!r} does not apply to lbfgs, whose line "
                "search sets each step; use the schedule 'constant'."
            )
        return factories[name](learning_rate)

    total_steps = steps_per_epoch * epochs
    rate: Any = learning_rate
    if schedule == "cosine":
        rate = optgrad.cosine_decay_schedule(learning_rate, decay_steps=total_steps)
    elif schedule == "warmup-cosine":
        rate = optgrad.warmup_cosine_decay_schedule(
            init_value=0.0,
            peak_value=learning_rate,
            warmup_steps=max(1, total_steps // 20),
            decay_steps=total_steps,
        )
    elif schedule == "exponential":
        rate = optgrad.exponential_decay(
            learning_rate, transition_steps=total_steps, decay_rate=0.01
        )
    optimizer = factories[name](rate)
    if schedule == "plateau":
        optimizer = optgrad.chain(
            optimizer,
            optgrad.reduce_on_plateau(
                factor=0.5, patience=3, accumulation_size=steps_per_epoch
            ),
        )
    return optimizer


@dataclasses.dataclass
class RunResult:
    """The outcome of training a task once.

    Attributes:
        task: The task's name.
        label: A short name for the run in tables and legends.
        metric: The name of the task's metric, such as ``"accuracy"``.
        config: The settings, with the learning rate that was used.
        model: The trained model.
        history: What ``fit`` recorded.
        metrics: ``train_loss`` and ``val_loss`` after the last epoch,
            ``test_loss``, ``test_<metric>``, ``target`` (the smallest test
            metric that meets the task's target, absent for a task without
            one), ``seconds`` (wall time of training, compilation included)
            and ``steps_per_second``.
    """

    task: str
    label: str
    metric: str
    config: TrainConfig
    model: Any
    history: History
    metrics: dict[str, float]

    @property
    def meets_target(self) -> bool | None:
        """Whether the test metric reached the task's target; ``None`` without one."""
        if "target" not in self.metrics:
            return None
        return self.metrics[f"test_{self.metric}"] >= self.metrics["target"]

    def to_dict(self) -> dict[str, Any]:
        """Return the run as plain values for ``json.dump``."""
        return {
            "task": self.task,
            "label": self.label,
            "metric": self.metric,
            "config": dataclasses.asdict(self.config),
            "metrics": dict(self.metrics),
            "meets_target": self.meets_target,
            "history": self.history.to_dict(),
        }


def _batch_steps(num_examples: int, batch_size: int | None) -> int:
    if batch_size is None:
        return 1
    return math.ceil(num_examples / batch_size)


def train(
    task: Task | str,
    config: TrainConfig | None = None,
    *,
    splits: Splits | None = None,
    progress: bool = False,
    label: str | None = None,
) -> RunResult:
    """Train a task's model and measure it on the test split.

    Args:
        task: A ``Task`` or the name of a built-in one.
        config: The settings; ``None`` takes ``task.defaults``.
        splits: The data, when it is already loaded (from ``task.load()``).
        progress: Show a progress bar over the epochs.
        label: The run's name in tables; by default the optimizer's name.

    Returns:
        A ``RunResult``.

    Raises:
        ValueError: For an unknown optimizer, schedule or loss, a batch size
            larger than the training split, or L-BFGS with mini-batches.
    """
    if isinstance(task, str):
        task = get_task(task)
    config = task.defaults if config is None else config
    splits = task.load() if splits is None else splits
    num_train = splits.sizes()[0]
    if config.optimizer == "lbfgs" and config.batch_size is not None:
        raise ValueError(
            "lbfgs needs the whole training split at every step; use the batch "
            "size 'full'."
        )
    if config.batch_size is not None and config.batch_size > num_train:
        raise ValueError(
            f"batch size {config.batch_size} exceeds the {num_train} training "
            f"examples of {task.name!r}; use at most {num_train}, or 'full'."
        )
    loss_fn = task.loss_fn(config.loss)
    learning_rate = resolve_learning_rate(task, config)
    config = dataclasses.replace(config, learning_rate=learning_rate)
    optimizer = build_optimizer(
        config.optimizer,
        learning_rate,
        config.schedule,
        steps_per_epoch=_batch_steps(num_train, config.batch_size),
        epochs=config.epochs,
    )

    key = jax.random.key(config.seed)
    model = task.make_model(splits, seed=config.seed)
    metric_fns = {task.metric: task.metric_fn}
    start = time.perf_counter()
    model, history = fit(
        loss_fn,
        model,
        optimizer,
        splits.train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        key=jax.random.fold_in(key, 1),
        validation_data=splits.validation,
        metrics=metric_fns,
        progress=progress,
        # A diverged run stops after the epoch of its first non-finite loss.
        callbacks=[TerminateOnNaN()],
    )
    seconds = time.perf_counter() - start
    test = evaluate({"loss": loss_fn, **metric_fns}, model, splits.test)
    metrics = {
        "train_loss": history.last("train_loss"),
        "val_loss": history.last("val_loss"),
        f"val_{task.metric}": history.last(f"val_{task.metric}"),
        "test_loss": test["loss"],
        f"test_{task.metric}": test[task.metric],
        "seconds": seconds,
        "steps_per_second": history.num_steps / seconds,
    }
    if task.threshold is not None:
        metrics["target"] = task.threshold(splits)
    return RunResult(
        task.name,
        label or config.optimizer,
        task.metric,
        config,
        model,
        history,
        metrics,
    )


def compare(
    task: Task | str,
    configs: Sequence[tuple[str, TrainConfig]],
    *,
    splits: Splits | None = None,
    progress: bool = False,
    on_result: Callable[[RunResult], None] | None = None,
) -> list[RunResult]:
    """Train a task once per configuration and sort the runs by test metric.

    Args:
        task: A ``Task`` or the name of a built-in one.
        configs: ``(label, config)`` pairs.
        splits: The data, when it is already loaded (from ``task.load()``).
        progress: Show a progress bar for each run.
        on_result: Called with each result as soon as its run finishes.

    Returns:
        The results, best test metric first.
    """
    if isinstance(task, str):
        task = get_task(task)
    splits = task.load() if splits is None else splits
    results = []
    for label, config in configs:
        result = train(task, config, splits=splits, progress=progress, label=label)
        if on_result is not None:
            on_result(result)
        results.append(result)
    metric = f"test_{task.metric}"
    return sorted(results, key=lambda r: _sort_key(r.metrics[metric]))


def _sort_key(value: float) -> float:
    # Best first; a NaN metric (a diverged run) goes last.
    return math.inf if math.isnan(value) else -value


def comparison_figure(results: Sequence[RunResult]) -> Any:
    """Draw the validation loss and metric per epoch of several runs on one figure.

    Returns:
        A ``matplotlib.figure.Figure`` made without ``pyplot``.

    Raises:
        ImportError: When matplotlib is not installed.
    """
    figure_class = import_matplotlib_figure("comparison_figure")
    figure = figure_class(figsize=(10, 3.8), layout="constrained")
    loss_axis, metric_axis = figure.subplots(1, 2)
    for result in results:
        epochs = range(1, result.history.num_epochs + 1)
        metric = f"val_{result.metric}"
        loss_axis.plot(epochs, result.history.epochs["val_loss"], label=result.label)
        metric_axis.plot(epochs, result.history.epochs[metric], label=result.label)
        metric_axis.set_ylabel(metric)
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("val_loss")
    values = [v for r in results for v in r.history.epochs["val_loss"]]
    if values and all(v > 0 and math.isfinite(v) for v in values):
        loss_axis.set_yscale("log")
    metric_axis.set_xlabel("epoch")
    if results:
        figure.suptitle(f"{results[0].task}: validation loss and metric per epoch")
    loss_axis.legend(fontsize="small")
    return figure
