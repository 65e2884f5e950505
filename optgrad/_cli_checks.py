"""Checks of the ``optgrad`` command's option values, run before any training."""

import importlib.util
import math
import os
from collections.abc import Sequence

from optgrad.cli import UsageError

# jax.random.key and numpy's generators both take seeds of 32 bits.
SEED_LIMIT = 2**32

# The file format each output option writes, as its required file suffix.
OUTPUT_SUFFIXES = {"--json": ".json", "--plot": ".png"}
OUTPUT_FORMATS = {"--json": "JSON", "--plot": "PNG"}

# The pip distribution of each import name that the ``tasks`` extra installs.
EXTRA_DISTRIBUTIONS = {
    "flax": "flax",
    "sklearn": "scikit-learn",
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
}
INSTALL_EXTRA = 'pip install ".[tasks]" in the optgrad repository'


def missing_extra_message(command: str, module: str) -> str:
    """Return the one-line error for a module of the ``tasks`` extra that is missing."""
    top_level = module.split(".")[0]
    distribution = EXTRA_DISTRIBUTIONS.get(top_level, top_level)
    return (
        f"{distribution} is not installed; {command} needs the tasks extra: "
        f"{INSTALL_EXTRA}"
    )


def check_extra_installed(prog: str, *, plot: bool, progress: bool) -> None:
    """Raise ``UsageError`` when a package that the run will import is missing.

    ``find_spec`` looks the package up without importing it, so the check is
    cheap and runs before any data is loaded.
    """
    modules = ["sklearn", "flax"]
    if plot:
        modules.append("matplotlib")
    if progress:
        modules.append("tqdm")
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise UsageError(missing_extra_message(prog, module), prog)


def parse_seed(prog: str, seed: int) -> int:
    """Return ``seed`` after checking that it is in ``[0, 2**32)``."""
    if not 0 <= seed < SEED_LIMIT:
        raise UsageError(
            f"--seed {seed} is out of range; give an integer with 0 <= seed < 2**32",
            prog,
        )
    return seed


def parse_learning_rate(prog: str, text: str | None) -> float | None:
    """Parse ``--learning-rate``; errors show the value as the user typed it."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(
            f"--learning-rate {text!r} is not a number; give a positive number "
            "such as 0.001",
            prog,
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"--learning-rate {text} must be a positive number", prog)
    return value


def parse_batch_size(prog: str, option: str, text: str) -> int | None:
    """Parse one batch size: a positive integer, or ``None`` for ``full``."""
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
        raise UsageError(f"{option} {text.strip()} must be at least 1, or 'full'", prog)
    return value


def split_list(prog: str, option: str, text: str) -> list[str]:
    """Split a comma-separated option value, rejecting empty entries."""
    entries = [entry.strip() for entry in text.split(",")]
    if not any(entries):
        raise UsageError(f"{option} is empty; give comma-separated values", prog)
    if "" in entries:
        raise UsageError(
            f"{option} {text!r} has an empty entry; separate the values with "
            "single commas",
            prog,
        )
    return entries


def check_unique(
    prog: str, option: str, entries: Sequence[str], values: Sequence[object]
) -> None:
    """Reject a list whose ``values`` repeat; the message names the entry."""
    seen: set[object] = set()
    for entry, value in zip(entries, values, strict=True):
        if value in seen:
            raise UsageError(f"{option} lists {entry} twice; give each once", prog)
        seen.add(value)


def _same_file(first: str, second: str) -> bool:
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    # Hard links and other aliases of one existing file.
    return (
        os.path.exists(first)
        and os.path.exists(second)
        and os.path.samefile(first, second)
    )


def check_outputs(
    prog: str, csv_path: str | None, outputs: Sequence[tuple[str, str | None]]
) -> None:
    """Check the ``(option, path)`` outputs before training, so that a bad path
    fails without wasting a run.

    Each path must differ from the input CSV file and from the other outputs,
    end in its format's suffix, and be creatable in an existing, writable
    directory.
    """
    requested = [(option, path) for option, path in outputs if path is not None]
    for option, path in requested:
        if not path.strip():
            raise UsageError(f"{option} needs a file name, got an empty one", prog)
    for index, (option, path) in enumerate(requested):
        if csv_path is not None and _same_file(path, csv_path):
            raise UsageError(
                f"{option} {path} is the input file of --csv and would be "
                "overwritten; give another path",
                prog,
            )
        for other_option, other_path in requested[:index]:
            if _same_file(path, other_path):
                raise UsageError(
                    f"{other_option} {other_path} and {option} {path} name the "
                    "same file; give each its own file",
                    prog,
                )
    for option, path in requested:
        _check_output(prog, option, path)


def _check_output(prog: str, option: str, path: str) -> None:
    suffix = OUTPUT_SUFFIXES[option]
    if os.path.isdir(path):
        raise UsageError(
            f"{option} {path} is a directory; give a file name ending in {suffix}",
            prog,
        )
    if os.path.splitext(path)[1].lower() != suffix:
        raise UsageError(
            f"{option} {path}: the file is written as {OUTPUT_FORMATS[option]}, so "
            f"its name must end in {suffix}",
            prog,
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(parent):
        raise UsageError(
            f"{option} {path}: the directory {parent} does not exist", prog
        )
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {path}: {parent} is not a directory", prog)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"{option} {path}: the directory {parent} is not writable", prog
        )
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{option} {path}: the file is not writable", prog)
        return
    # os.access reports every directory as writable for root, even where no
    # file can be created (/proc, /sys), so create the file once and remove it.
    try:
        with open(path, "xb"):
            pass
        os.remove(path)
    except FileExistsError:
        pass
    except OSError as error:
        raise UsageError(
            f"{option} {path}: cannot create the file: {error.strerror or error}",
            prog,
        ) from None
