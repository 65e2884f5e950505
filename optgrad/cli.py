"""The ``optgrad`` command: list tasks, train one, compare optimizers.

Every input problem (an unknown option, a missing file or column, a bad
value) is reported as one line on stderr with exit status 2, before anything
is trained or written.
"""

import argparse
import os
import sys
from typing import NoReturn

import optgrad

# Exit status for invalid input, as argparse uses.
USAGE_ERROR = 2
# Exit status after Ctrl-C: 128 plus the number of SIGINT, as shells report.
INTERRUPTED = 130


class UsageError(Exception):
    """Invalid input; the message is printed as the one line of the error."""

    def __init__(self, message: str, prog: str = "optgrad"):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises ``UsageError`` instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(
            f"{message}; run '{self.prog} --help' for the options", self.prog
        )


def pluralize(count: int, noun: str) -> str:
    """Return ``count`` and ``noun``, with an ``s`` unless ``count`` is 1."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("data")
    source.add_argument(
        "--task",
        help="a built-in task (see 'optgrad tasks'); digits when neither --task "
        "nor --csv is given",
    )
    source.add_argument("--csv", metavar="PATH", help="train on a CSV file of numbers")
    source.add_argument("--target", help="with --csv: the column to predict")
    source.add_argument(
        "--kind",
        choices=("regression", "binary", "multiclass"),
        help="with --csv: the kind of target",
    )
    training = parser.add_argument_group("training")
    training.add_argument(
        "--learning-rate",
        metavar="RATE",
        help="the peak learning rate; by default the task's rate for its default "
        "optimizer and a per-optimizer default otherwise",
    )
    training.add_argument(
        "--schedule",
        help="the learning-rate schedule: constant, cosine, warmup-cosine, "
        "exponential or plateau (default: the task's)",
    )
    training.add_argument(
        "--epochs",
        type=int,
        help="passes over the training split (default: the task's)",
    )
    training.add_argument(
        "--seed", type=int, default=0, help="seeds initialization and shuffling (0)"
    )
    training.add_argument(
        "--loss", help="the training loss, for tasks with several (diabetes: mse, mae)"
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--json", metavar="PATH", help="write the configuration, metrics and history"
    )
    output.add_argument(
        "--no-progress", action="store_true", help="do not show progress bars"
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``optgrad`` command."""
    parser = _Parser(
        prog="optgrad",
        description="Train and compare optimizers on built-in tasks.",
    )
    parser.add_argument(
        "--version", action="version", version=f"optgrad {optgrad.__version__}"
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    commands.add_parser(
        "tasks",
        help="list the built-in tasks",
        description="List the built-in tasks with their data, model, loss, metric "
        "and target.",
    )

    train = commands.add_parser(
        "train",
        help="train one task and report its test metric",
        description="Train a task's model, show progress, and print the final "
        "losses, the test metric, the wall time and the steps per second.",
    )
    _add_training_options(train)
    train.add_argument(
        "--optimizer", help="the optimizer name (default: the task's, adam)"
    )
    train.add_argument(
        "--batch-size",
        metavar="SIZE",
        help="examples per step, or 'full' for the whole training split "
        "(default: the task's)",
    )
    train.add_argument(
        "--plot", metavar="PATH", help="write the training curves as PNG"
    )

    compare = commands.add_parser(
        "compare",
        help="train one task with several optimizers or batch sizes",
        description="Train a task once per optimizer or batch size with the same "
        "seed, print a table sorted by the test metric, and plot the validation "
        "curves on one figure. With no options it compares sgd, momentum, "
        "nesterov, adagrad, rmsprop, adam and adamw on digits.",
    )
    _add_training_options(compare)
    compare.add_argument(
        "--optimizers",
        metavar="LIST",
        help="comma-separated optimizer names (default: the common optimizers, or "
        "the task's optimizer with --batch-sizes)",
    )
    compare.add_argument(
        "--batch-sizes",
        metavar="LIST",
        help="comma-separated batch sizes, 'full' for the whole training split",
    )
    compare.add_argument(
        "--optimizer", help="with --batch-sizes: the optimizer for every run"
    )
    compare.add_argument(
        "--batch-size", metavar="SIZE", help="with --optimizers: the batch size"
    )
    compare.add_argument(
        "--plot",
        metavar="PATH",
        help="where to write the comparison figure (default: compare-TASK.png)",
    )
    compare.add_argument(
        "--no-plot", action="store_true", help="do not write the comparison figure"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command and return its exit status."""
    parser = build_parser()
    prog = parser.prog
    try:
        args, unrecognized = parser.parse_known_args(argv)
        if args.command is not None:
            prog = f"optgrad {args.command}"
        if unrecognized:
            # The top-level parser collects the options that a subcommand does
            # not know, so name the subcommand's help, which lists them.
            raise UsageError(
                f"unrecognized arguments: {' '.join(unrecognized)}; run "
                f"'{prog} --help' for the options",
                prog,
            )
        if args.command is None:
            parser.print_help()
            return 0
        if args.command == "tasks":
            return _list_tasks()
        from optgrad._cli_commands import run_compare, run_train

        if args.command == "train":
            return run_train(args)
        return run_compare(args)
    except UsageError as error:
        print(f"{error.prog}: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    except ImportError as error:
        # A package of the ``tasks`` extra that the check before loading did
        # not catch, such as one that is installed but fails to import. Other
        # import errors are bugs and keep their traceback.
        from optgrad._cli_checks import EXTRA_DISTRIBUTIONS, missing_extra_message

        module = _missing_module(error)
        if module is None or module.split(".")[0] not in EXTRA_DISTRIBUTIONS:
            raise
        print(f"{prog}: error: {missing_extra_message(prog, module)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        # fit closes its progress bar on the way out, so the line is clean.
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as exit_request:
        # argparse exits for --help and --version.
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except BrokenPipeError:
        # The reader of stdout went away (``optgrad tasks | head``). Point
        # stdout at devnull so that the interpreter's final flush is silent.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _missing_module(error: ImportError) -> str | None:
    """Return the name of the module that failed to import, if ``error`` has one."""
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, ImportError) and current.name:
            return current.name
        current = current.__cause__
    return None


def _list_tasks() -> int:
    from optgrad import tasks

    for name in tasks.task_names():
        task = tasks.get_task(name)
        defaults = task.defaults
        print(f"{name}")
        print(f"  data:     {task.data}")
        print(f"  model:    {task.model}")
        print(f"  loss:     {', '.join(task.losses)}")
        print(f"  target:   {task.target} on the test split")
        print(
            f"  defaults: {defaults.optimizer}, learning rate "
            f"{defaults.learning_rate:g}, batch size {defaults.batch_size}, "
            f"{pluralize(defaults.epochs, 'epoch')}"
        )
    return 0


if __name__ == "__main__":
    # Run as ``python -m optgrad.cli`` this file is ``__main__``, a second copy
    # of the module whose exception classes differ from the ones the helper
    # modules raise. Import the package's copy so their errors are caught.
    from optgrad.cli import main as package_main

    sys.exit(package_main())
