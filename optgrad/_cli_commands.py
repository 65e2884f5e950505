"""``optgrad train`` and ``optgrad compare``: check the input, run, report."""

import argparse
import dataclasses
import itertools
import json
import math
import os
from typing import Any

from optgrad.cli import UsageError


def _output_path(prog: str, option: str, path: str | None) -> str | None:
    """Check that ``path`` can be written later, so bad paths fail before training."""
    if path is None:
        return None
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a directory; give a file name", prog)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(
            f"{option} {path}: the directory {parent} does not exist", prog
        )
    return path


def _batch_size(prog: str, option: str, text: str) -> int | None:
    if text.strip().lower() == "full":
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a batch size; give a positive integer or 'full'",
            prog,
        ) from None
    if value < 1:
        raise UsageError(f"{option} {value} must be at least 1, or 'full'", prog)
    return value


def _names(prog: str, option: str, text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"{option} is empty; give comma-separated values", prog)
    return names


def _load_task(prog: str, args: argparse.Namespace) -> tuple[Any, Any]:
    """Return the task and its splits from ``--task`` or ``--csv``."""
    from optgrad import tasks
    from optgrad.tasks._csv import CsvError, csv_task

    if args.csv is not None:
        if args.task is not None:
            raise UsageError("give either --task or --csv, not both", prog)
        if args.target is None or args.kind is None:
            raise UsageError("--csv needs --target COLUMN and --kind KIND", prog)
        try:
            return csv_task(args.csv, args.target, args.kind)
        except CsvError as error:
            raise UsageError(str(error), prog) from None
    for option in ("target", "kind"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option} goes with --csv", prog)
    name = args.task or "digits"
    if name not in tasks.task_names():
        raise UsageError(
            f"unknown task {name!r}; choose one of {', '.join(tasks.task_names())}",
            prog,
        )
    task = tasks.get_task(name)
    return task, task.load()


def _check_config(prog: str, task: Any, splits: Any, config: Any) -> None:
    """Raise ``UsageError`` for settings that ``train`` would reject."""
    from optgrad import tasks
    from optgrad.tasks._run import resolve_learning_rate

    if config.optimizer not in tasks.optimizer_names():
        raise UsageError(
            f"unknown optimizer {config.optimizer!r}; choose one of "
            f"{', '.join(tasks.optimizer_names())}",
            prog,
        )
    if config.schedule not in tasks.SCHEDULES:
        raise UsageError(
            f"unknown schedule {config.schedule!r}; choose one of "
            f"{', '.join(tasks.SCHEDULES)}",
            prog,
        )
    if config.loss is not None and config.loss not in task.losses:
        raise UsageError(
            f"task {task.name!r} has no loss {config.loss!r}; choose one of "
            f"{', '.join(task.losses)}",
            prog,
        )
    if config.epochs < 1:
        raise UsageError(f"--epochs {config.epochs} must be at least 1", prog)
    if config.learning_rate is not None and not (
        math.isfinite(config.learning_rate) and config.learning_rate > 0
    ):
        raise UsageError(
            f"--learning-rate {config.learning_rate} must be a positive number", prog
        )
    num_train = splits.sizes()[0]
    if config.batch_size is not None and config.batch_size > num_train:
        raise UsageError(
            f"batch size {config.batch_size} exceeds the {num_train} training "
            f"examples of {task.name}; use at most {num_train}, or 'full'",
            prog,
        )
    if config.optimizer == "lbfgs":
        if config.batch_size is not None:
            raise UsageError("lbfgs needs --batch-size full", prog)
        if config.schedule != "constant":
            raise UsageError(
                "lbfgs takes no schedule; its line search sets the steps", prog
            )
    try:
        # Build once to catch an optimizer or schedule this build lacks.
        tasks.build_optimizer(
            config.optimizer,
            resolve_learning_rate(task, config),
            config.schedule,
            steps_per_epoch=1,
            epochs=config.epochs,
        )
    except AttributeError as error:
        raise UsageError(
            f"{config.optimizer} with the schedule {config.schedule!r} is not "
            f"available in this installation of optgrad ({error})",
            prog,
        ) from None


def _base_config(prog: str, args: argparse.Namespace, task: Any) -> Any:
    changes: dict[str, Any] = {"seed": args.seed}
    for option in ("learning_rate", "schedule", "epochs", "loss", "optimizer"):
        value = getattr(args, option, None)
        if value is not None:
            changes[option] = value
    if getattr(args, "batch_size", None) is not None:
        changes["batch_size"] = _batch_size(prog, "--batch-size", args.batch_size)
    if "optimizer" in changes and "learning_rate" not in changes:
        # Another optimizer than the task's gets its own default rate.
        changes["learning_rate"] = None
    return dataclasses.replace(task.defaults, **changes)


def _write_json(path: str | None, record: dict[str, Any]) -> None:
    if path is None:
        return
    with open(path, "w", encoding="utf-8") as file:
        json.dump(_finite(record), file, indent=2, allow_nan=False)
        file.write("\n")


def _finite(value: Any) -> Any:
    """Replace NaN and infinities (a diverged run) with ``None``, which JSON has."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _save_figure(path: str | None, figure: Any) -> None:
    if path is not None:
        figure.savefig(path, format="png", dpi=120)


def _describe(config: Any) -> str:
    batch = "full" if config.batch_size is None else config.batch_size
    rate = (
        "line search" if config.learning_rate is None else f"{config.learning_rate:g}"
    )
    return (
        f"{config.optimizer}, learning rate {rate}, schedule {config.schedule}, "
        f"batch size {batch}, {config.epochs} epochs, seed {config.seed}"
    )


def run_train(args: argparse.Namespace) -> int:
    """Run ``optgrad train``."""
    from optgrad import tasks

    prog = "optgrad train"
    json_path = _output_path(prog, "--json", args.json)
    plot_path = _output_path(prog, "--plot", args.plot)
    task, splits = _load_task(prog, args)
    config = _base_config(prog, args, task)
    _check_config(prog, task, splits, config)

    print(f"{task.name}: {_describe(config)}", flush=True)
    result = tasks.train(task, config, splits=splits, progress=not args.no_progress)
    metrics = result.metrics
    print(
        f"final train loss {metrics['train_loss']:.4g}, "
        f"validation loss {metrics['val_loss']:.4g}"
    )
    line = f"test {task.metric} {metrics[f'test_{task.metric}']:.4f}"
    if result.meets_target is not None:
        verdict = "met" if result.meets_target else "not met"
        line += f" (target {task.target}: {metrics['target']:.4f}, {verdict})"
    print(line)
    print(
        f"wall time {metrics['seconds']:.1f} s including compilation, "
        f"{metrics['steps_per_second']:.1f} steps/s ({result.history.num_steps} steps)"
    )

    record = {"command": "train", **result.to_dict()}
    if args.csv is not None:
        record["data"] = {"csv": args.csv, "target": args.target, "kind": args.kind}
    _write_json(json_path, record)
    if plot_path is not None:
        _save_figure(plot_path, result.history.plot())
    for option, path in (("JSON", json_path), ("plot", plot_path)):
        if path is not None:
            print(f"wrote the {option} to {path}")
    return 0


def _available(optimizer: str) -> bool:
    """Tell whether this installation of optgrad can build ``optimizer``."""
    from optgrad import tasks

    try:
        tasks.build_optimizer(optimizer, 0.1, "constant", steps_per_epoch=1, epochs=1)
    except AttributeError:
        return False
    return True


def _comparison_configs(
    prog: str, args: argparse.Namespace, task: Any
) -> list[tuple[str, Any]]:
    from optgrad import tasks

    base = _base_config(prog, args, task)
    if args.optimizers is not None:
        optimizers = _names(prog, "--optimizers", args.optimizers)
    elif args.batch_sizes is not None or args.optimizer is not None:
        optimizers = [base.optimizer]
    else:
        optimizers = [name for name in tasks.COMMON_OPTIMIZERS if _available(name)]
        missing = [name for name in tasks.COMMON_OPTIMIZERS if name not in optimizers]
        if missing:
            print(f"skipping {', '.join(missing)}: not in this installation of optgrad")
    if args.batch_sizes is not None:
        batch_sizes = [
            _batch_size(prog, "--batch-sizes", text)
            for text in _names(prog, "--batch-sizes", args.batch_sizes)
        ]
    else:
        batch_sizes = [base.batch_size]

    configs = []
    for optimizer, batch_size in itertools.product(optimizers, batch_sizes):
        learning_rate = args.learning_rate
        config = dataclasses.replace(
            base,
            optimizer=optimizer,
            batch_size=batch_size,
            learning_rate=learning_rate,
            schedule=base.schedule if optimizer != "lbfgs" else "constant",
        )
        parts = []
        if len(optimizers) > 1 or len(batch_sizes) == 1:
            parts.append(optimizer)
        if len(batch_sizes) > 1:
            parts.append(f"batch {'full' if batch_size is None else batch_size}")
        configs.append((", ".join(parts), config))
    labels = [label for label, _ in configs]
    if len(set(labels)) != len(labels):
        raise UsageError("the same optimizer or batch size is listed twice", prog)
    return configs


def run_compare(args: argparse.Namespace) -> int:
    """Run ``optgrad compare``."""
    from optgrad import tasks

    prog = "optgrad compare"
    if args.optimizers is not None and args.optimizer is not None:
        raise UsageError("give --optimizers or --optimizer, not both", prog)
    if args.batch_sizes is not None and args.batch_size is not None:
        raise UsageError("give --batch-sizes or --batch-size, not both", prog)
    json_path = _output_path(prog, "--json", args.json)
    task, splits = _load_task(prog, args)
    plot_path = None
    if not args.no_plot:
        default_plot = f"compare-{task.name.replace('.', '-')}.png"
        plot_path = _output_path(prog, "--plot", args.plot or default_plot)
    configs = _comparison_configs(prog, args, task)
    for _, config in configs:
        _check_config(prog, task, splits, config)

    print(f"{task.name}: comparing {len(configs)} runs, seed {args.seed}", flush=True)

    def report(result: Any) -> None:
        value = result.metrics[f"test_{task.metric}"]
        print(
            f"  {result.label}: test {task.metric} {value:.4f} "
            f"({result.metrics['seconds']:.1f} s)",
            flush=True,
        )

    results = tasks.compare(
        task, configs, splits=splits, progress=not args.no_progress, on_result=report
    )
    print()
    print(_table(task, results))
    if "target" in results[0].metrics:
        print(f"target: {task.target} ({results[0].metrics['target']:.4f})")

    record = {
        "command": "compare",
        "task": task.name,
        "runs": [result.to_dict() for result in results],
    }
    _write_json(json_path, record)
    if plot_path is not None:
        _save_figure(plot_path, tasks.comparison_figure(results))
    for option, path in (("JSON", json_path), ("figure", plot_path)):
        if path is not None:
            print(f"wrote the {option} to {path}")
    return 0


def _table(task: Any, results: list[Any]) -> str:
    header = [
        "rank",
        "run",
        f"test {task.metric}",
        "val loss",
        "train loss",
        "seconds",
        "steps/s",
        "settings",
    ]
    rows = [header]
    for rank, result in enumerate(results, start=1):
        metrics = result.metrics
        rows.append(
            [
                str(rank),
                result.label,
                f"{metrics[f'test_{task.metric}']:.4f}",
                f"{metrics['val_loss']:.4g}",
                f"{metrics['train_loss']:.4g}",
                f"{metrics['seconds']:.1f}",
                f"{metrics['steps_per_second']:.0f}",
                _describe(result.config),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
