"""``optgrad train`` and ``optgrad compare``: check the input, run, report."""

import argparse
import dataclasses
import itertools
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any

from optgrad import _cli_checks
from optgrad.cli import UsageError, pluralize


def _load_task(prog: str, args: argparse.Namespace) -> tuple[Any, Any]:
    """Return the task and its splits from ``--task`` or ``--csv``."""
    from optgrad import tasks
    from optgrad.tasks._csv import CsvError, csv_task

    if args.csv is not None:
        try:
            return csv_task(args.csv, args.target, args.kind)
        except CsvError as error:
            raise UsageError(str(error), prog) from None
    name = args.task or "digits"
    if name not in tasks.task_names():
        raise UsageError(
            f"unknown task {name!r}; choose one of {', '.join(tasks.task_names())}",
            prog,
        )
    task = tasks.get_task(name)
    return task, task.load()


def _check_data_options(prog: str, args: argparse.Namespace) -> None:
    if args.csv is not None:
        if args.task is not None:
            raise UsageError("give either --task or --csv, not both", prog)
        if args.target is None or args.kind is None:
            raise UsageError("--csv needs --target COLUMN and --kind KIND", prog)
        return
    for option in ("target", "kind"):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option} goes with --csv", prog)


def _task_name(args: argparse.Namespace) -> str:
    """Return the name the task will have, without loading it."""
    if args.csv is not None:
        return os.path.basename(args.csv)
    return args.task or "digits"


def _check_config(
    prog: str, task: Any, splits: Any, config: Any, batch_option: str | None
) -> None:
    """Raise ``UsageError`` for settings that ``train`` would reject.

    ``batch_option`` is the option that set the batch size, or ``None`` when
    it is the task's default; messages about the batch size name it.
    """
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
    num_train = splits.sizes()[0]
    if config.batch_size is not None and config.batch_size > num_train:
        raise UsageError(
            f"batch size {config.batch_size} exceeds the {num_train} training "
            f"examples of {task.name}; use at most {num_train}, or 'full'",
            prog,
        )
    if config.optimizer == "lbfgs":
        if config.batch_size is not None:
            raise UsageError(
                _lbfgs_batch_message(config.batch_size, batch_option), prog
            )
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


def _lbfgs_batch_message(batch_size: int, batch_option: str | None) -> str:
    if batch_option == "--batch-sizes":
        return (
            f"lbfgs needs the batch size 'full'; remove {batch_size} from --batch-sizes"
        )
    if batch_option == "--batch-size":
        return f"lbfgs needs --batch-size full, not {batch_size}"
    return (
        f"lbfgs needs --batch-size full; the task's default batch size is {batch_size}"
    )


def _base_config(prog: str, args: argparse.Namespace, task: Any) -> Any:
    changes: dict[str, Any] = {
        "seed": _cli_checks.parse_seed(prog, args.seed),
        "learning_rate": _cli_checks.parse_learning_rate(prog, args.learning_rate),
    }
    for option in ("schedule", "epochs", "loss", "optimizer"):
        value = getattr(args, option, None)
        if value is not None:
            changes[option] = value
    if changes["learning_rate"] is None and "optimizer" not in changes:
        # The task's own optimizer keeps the task's rate; another optimizer
        # gets its own default rate (``None`` here).
        del changes["learning_rate"]
    if getattr(args, "batch_size", None) is not None:
        changes["batch_size"] = _cli_checks.parse_batch_size(
            prog, "--batch-size", args.batch_size
        )
    return dataclasses.replace(task.defaults, **changes)


def _write_output(prog: str, path: str, write: Callable[[str], None]) -> None:
    """Write one output file; an ``OSError`` becomes a one-line ``UsageError``."""
    try:
        write(path)
    except OSError as error:
        raise UsageError(
            f"could not write {path}: {error.strerror or error}", prog
        ) from None


def _json_writer(record: dict[str, Any]) -> Callable[[str], None]:
    def write(path: str) -> None:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(_finite(record), file, indent=2, allow_nan=False)
            file.write("\n")

    return write


def _figure_writer(figure: Any) -> Callable[[str], None]:
    return lambda path: figure.savefig(path, format="png", dpi=120)


def _finite(value: Any) -> Any:
    """Replace NaN and infinities (a diverged run) with ``None``, which JSON has."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _describe(config: Any) -> str:
    batch = "full" if config.batch_size is None else config.batch_size
    rate = (
        "line search" if config.learning_rate is None else f"{config.learning_rate:g}"
    )
    loss = "" if config.loss is None else f", loss {config.loss}"
    return (
        f"{config.optimizer}, learning rate {rate}, schedule {config.schedule}, "
        f"batch size {batch}{loss}, {pluralize(config.epochs, 'epoch')}, "
        f"seed {config.seed}"
    )


def _target_text(task: Any, threshold: float) -> str:
    """Describe the target as the inequality the test metric must meet."""
    text = f"{task.metric} >= {threshold:.4g}"
    if task.explain_threshold is not None:
        text += f" ({task.explain_threshold(threshold)})"
    return text


def _divergence_warning(prog: str, result: Any) -> str | None:
    """Return a warning when the final training loss is NaN or infinite."""
    loss = result.metrics["train_loss"]
    if math.isfinite(loss):
        return None
    epochs = result.history.num_epochs
    planned = result.config.epochs
    stopped = f", stopped after epoch {epochs} of {planned}" if epochs < planned else ""
    warning = (
        f"{prog}: warning: the {result.label} run diverged "
        f"(final train loss {loss}{stopped})"
    )
    rate = result.config.learning_rate
    if rate is not None:
        warning += f"; try a learning rate below {rate:g}"
    return warning


def run_train(args: argparse.Namespace) -> int:
    """Run ``optgrad train``."""
    from optgrad import tasks

    prog = "optgrad train"
    _check_data_options(prog, args)
    _cli_checks.check_outputs(
        prog, args.csv, [("--json", args.json), ("--plot", args.plot)]
    )
    _cli_checks.check_extra_installed(
        prog, plot=args.plot is not None, progress=not args.no_progress
    )
    task, splits = _load_task(prog, args)
    config = _base_config(prog, args, task)
    batch_option = None if args.batch_size is None else "--batch-size"
    _check_config(prog, task, splits, config, batch_option)

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
        line += f"; target {_target_text(task, metrics['target'])}: {verdict}"
    print(line)
    steps = result.history.num_steps
    print(
        f"wall time {metrics['seconds']:.1f} s including compilation, "
        f"{metrics['steps_per_second']:.1f} steps/s ({pluralize(steps, 'step')})"
    )
    warning = _divergence_warning(prog, result)
    if warning is not None:
        print(warning, file=sys.stderr)

    record = {"command": "train", **result.to_dict()}
    if args.csv is not None:
        record["data"] = {"csv": args.csv, "target": args.target, "kind": args.kind}
    if args.json is not None:
        _write_output(prog, args.json, _json_writer(record))
        print(f"wrote the JSON to {args.json}")
    if args.plot is not None:
        _write_output(prog, args.plot, _figure_writer(result.history.plot()))
        print(f"wrote the plot to {args.plot}")
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
        optimizers = _cli_checks.split_list(prog, "--optimizers", args.optimizers)
        _cli_checks.check_unique(prog, "--optimizers", optimizers, optimizers)
    elif args.batch_sizes is not None or args.optimizer is not None:
        optimizers = [base.optimizer]
    else:
        optimizers = [name for name in tasks.COMMON_OPTIMIZERS if _available(name)]
        missing = [name for name in tasks.COMMON_OPTIMIZERS if name not in optimizers]
        if missing:
            print(f"skipping {', '.join(missing)}: not in this installation of optgrad")
    if args.batch_sizes is not None:
        entries = _cli_checks.split_list(prog, "--batch-sizes", args.batch_sizes)
        batch_sizes = [
            _cli_checks.parse_batch_size(prog, "--batch-sizes", entry)
            for entry in entries
        ]
        _cli_checks.check_unique(prog, "--batch-sizes", entries, batch_sizes)
    else:
        batch_sizes = [base.batch_size]

    learning_rate = _cli_checks.parse_learning_rate(prog, args.learning_rate)
    configs = []
    for optimizer, batch_size in itertools.product(optimizers, batch_sizes):
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
    return configs


def run_compare(args: argparse.Namespace) -> int:
    """Run ``optgrad compare``."""
    from optgrad import tasks

    prog = "optgrad compare"
    if args.optimizers is not None and args.optimizer is not None:
        raise UsageError("give --optimizers or --optimizer, not both", prog)
    if args.batch_sizes is not None and args.batch_size is not None:
        raise UsageError("give --batch-sizes or --batch-size, not both", prog)
    if args.plot is not None and args.no_plot:
        raise UsageError("give --plot PATH or --no-plot, not both", prog)
    _check_data_options(prog, args)
    plot_path = None
    if not args.no_plot:
        default_plot = f"compare-{_task_name(args).replace('.', '-')}.png"
        plot_path = args.plot or default_plot
    _cli_checks.check_outputs(
        prog, args.csv, [("--json", args.json), ("--plot", plot_path)]
    )
    _cli_checks.check_extra_installed(
        prog, plot=plot_path is not None, progress=not args.no_progress
    )
    task, splits = _load_task(prog, args)
    configs = _comparison_configs(prog, args, task)
    batch_option = None
    if args.batch_sizes is not None:
        batch_option = "--batch-sizes"
    elif args.batch_size is not None:
        batch_option = "--batch-size"
    for _, config in configs:
        _check_config(prog, task, splits, config, batch_option)

    print(
        f"{task.name}: comparing {pluralize(len(configs), 'run')}, seed {args.seed}",
        flush=True,
    )

    def report(result: Any) -> None:
        value = result.metrics[f"test_{task.metric}"]
        print(
            f"  {result.label}: test {task.metric} {value:.4f} "
            f"({result.metrics['seconds']:.1f} s)",
            flush=True,
        )
        warning = _divergence_warning(prog, result)
        if warning is not None:
            print(warning, file=sys.stderr, flush=True)

    results = tasks.compare(
        task, configs, splits=splits, progress=not args.no_progress, on_result=report
    )
    print()
    print(_table(task, results))
    if "target" in results[0].metrics:
        print(f"target: {_target_text(task, results[0].metrics['target'])}")

    record = {
        "command": "compare",
        "task": task.name,
        "runs": [result.to_dict() for result in results],
    }
    if args.json is not None:
        _write_output(prog, args.json, _json_writer(record))
        print(f"wrote the JSON to {args.json}")
    if plot_path is not None:
        figure = tasks.comparison_figure(results)
        _write_output(prog, plot_path, _figure_writer(figure))
        print(f"wrote the figure to {plot_path}")
    return 0


def _table(task: Any, results: list[Any]) -> str:
    has_target = results[0].meets_target is not None
    header = ["rank", "run", f"test {task.metric}"]
    if has_target:
        header.append("target")
    header += ["val loss", "train loss", "seconds", "steps/s", "settings"]
    rows = [header]
    for rank, result in enumerate(results, start=1):
        metrics = result.metrics
        row = [str(rank), result.label, f"{metrics[f'test_{task.metric}']:.4f}"]
        if has_target:
            row.append("met" if result.meets_target else "not met")
        row += [
            f"{metrics['val_loss']:.4g}",
            f"{metrics['train_loss']:.4g}",
            f"{metrics['seconds']:.1f}",
            f"{metrics['steps_per_second']:.0f}",
            _describe(result.config),
        ]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
