"""A task built from the user's own CSV file: numeric columns and one target."""

import csv
import io
import math
import os

import numpy as np

from optgrad.tasks import _data, _objectives
from optgrad.tasks._registry import Task, TrainConfig, _models

KINDS = ("regression", "binary", "multiclass")
# Fewer rows than this cannot fill a training, a validation and a test split.
MIN_ROWS = 10
# Classification splits keep the class proportions when every class has at
# least this many rows; otherwise the rows are split at random.
MIN_ROWS_PER_CLASS_TO_STRATIFY = 5
HIDDEN_UNITS = 64


class CsvError(ValueError):
    """A CSV file that cannot be used; the message names the file and the problem."""


def read_csv(path: str, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a CSV file with a header row whose cells are all finite numbers.

    Args:
        path: The file.
        target: The name of the target column.

    Returns:
        The features ``[rows, columns - 1]``, the target ``[rows]`` (both
        float64) and the feature column names.

    Raises:
        CsvError: For a missing or unreadable file or one that is not UTF-8
            text. For a header that is not comma-separated, names a column
            twice or lacks the target. For a row of the wrong length, a cell
            that is not a finite number, or fewer than ``MIN_ROWS`` rows.
    """
    rows = _read_rows(path)
    if not rows:
        raise CsvError(f"{path} is empty; it needs a header row and data rows")
    header = [name.strip() for name in rows[0]]
    _check_header(path, header)
    if target not in header:
        raise CsvError(
            f"target column {target!r} not found in {path}; its columns are "
            f"{', '.join(header)}"
        )
    if len(header) < 2:
        raise CsvError(
            f"{path} has only the target column {target!r}; it needs at least "
            "one feature column"
        )
    body = rows[1:]
    if len(body) < MIN_ROWS:
        raise CsvError(
            f"{path} has {len(body)} data rows; at least {MIN_ROWS} are needed "
            "to make training, validation and test splits"
        )

    values = np.empty((len(body), len(header)), np.float64)
    for index, row in enumerate(body):
        line = index + 2  # The header is line 1.
        if len(row) != len(header):
            raise CsvError(
                f"{path} line {line} has {len(row)} cells but the header has "
                f"{len(header)}"
            )
        for column, cell in enumerate(row):
            values[index, column] = _number(path, line, header[column], cell)

    target_index = header.index(target)
    features = np.delete(values, target_index, axis=1)
    names = [name for name in header if name != target]
    return features, values[:, target_index], names


def _read_rows(path: str) -> list[list[str]]:
    """Return the rows of the file that have a non-blank cell."""
    if not os.path.exists(path):
        raise CsvError(f"CSV file not found: {path}")
    if os.path.isdir(path):
        raise CsvError(f"{path} is a directory, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            text = file.read()
    except UnicodeDecodeError as error:
        raise CsvError(
            f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
            f"offset {error.start}); give a comma-separated text file in UTF-8"
        ) from None
    except OSError as error:
        raise CsvError(f"cannot read {path}: {error.strerror or error}") from None
    if "\0" in text:
        raise CsvError(
            f"{path} contains NUL bytes, so it is not a text CSV file; give a "
            "comma-separated text file in UTF-8"
        )
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        raise CsvError(f"cannot parse {path} as CSV: {error}") from None
    return [row for row in rows if any(cell.strip() for cell in row)]


def _check_header(path: str, header: list[str]) -> None:
    """Reject a header with another separator than commas, or a repeated name."""
    if len(header) == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in header[0]:
                raise CsvError(
                    f"the header of {path} is one column, {header[0]!r}, with "
                    f"{name} in it; separate the columns with commas"
                )
    seen = set()
    for name in header:
        if name in seen:
            raise CsvError(
                f"the header of {path} names the column {name!r} twice; give "
                "every column its own name"
            )
        seen.add(name)


def _number(path: str, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        if not text:
            problem = f"column {column!r} is empty"
        else:
            problem = f"column {column!r}: {text!r} is not a number"
        raise CsvError(
            f"{path} line {line}, {problem}; every cell must be a number"
        ) from None
    if not math.isfinite(value):
        raise CsvError(
            f"{path} line {line}, column {column!r}: {text!r} is not a finite "
            "number; every cell must be a finite number"
        )
    return value


def _class_indices(
    path: str, target: str, values: np.ndarray, kind: str
) -> tuple[np.ndarray, int]:
    """Map class labels to 0, 1, ... in sorted order; check their count for ``kind``."""
    classes = np.unique(values)
    fractional = classes[classes != np.round(classes)]
    if kind == "binary" and len(classes) != 2:
        shown = ", ".join(f"{c:g}" for c in classes[:10])
        if fractional.size:
            hint = "use --kind regression for a continuous target"
        else:
            hint = "use --kind multiclass, or --kind regression"
        raise CsvError(
            f"--kind binary needs exactly 2 distinct values in column {target!r} "
            f"of {path}, found {len(classes)}: {shown}"
            + ("" if len(classes) <= 10 else ", ...")
            + f"; {hint}"
        )
    if kind == "multiclass":
        if fractional.size:
            raise CsvError(
                f"--kind multiclass needs whole-number class labels in column "
                f"{target!r} of {path}, found {fractional[0]:g}; use --kind "
                "regression for a continuous target"
            )
    return np.searchsorted(classes, values), len(classes)


def csv_task(path: str, target: str, kind: str) -> tuple[Task, _data.Splits]:
    """Build a task and its splits from a CSV file.

    The features are standardized on the training split. The model is an MLP
    with one hidden layer of 64 units. Regression trains on the mean squared
    error (or ``mae``) and reports R^2; ``binary`` trains on sigmoid binary
    cross-entropy and ``multiclass`` on softmax cross-entropy, and both report
    accuracy. The task has no target value.

    Raises:
        CsvError: For an unusable file or ``kind`` (see ``read_csv``), a
            target with one value in every row, or a regression target with
            one value in every row of the test split, where R^2 is undefined.
    """
    if kind not in KINDS:
        raise CsvError(f"unknown --kind {kind!r}; choose one of {', '.join(KINDS)}")
    features, values, _ = read_csv(path, target)
    name = os.path.basename(path)
    if np.all(values == values[0]):
        raise CsvError(
            f"column {target!r} of {path} has the value {values[0]:g} in every "
            "row; the target must vary"
        )

    if kind == "regression":
        splits = _data.tabular_splits(
            features,
            values,
            stratify=False,
            target_dtype=np.float32,
            standardize_targets=True,
        )
        test_targets = splits.test["y"]
        if np.all(test_targets == test_targets[0]):
            raise CsvError(
                f"R^2 is undefined on the test split of {path}: its "
                f"{len(test_targets)} values of column {target!r} are all equal; "
                "give more rows or a target that varies more"
            )
        losses = {
            "mse": _objectives.mean_squared_error,
            "mae": _objectives.mean_absolute_error,
        }
        metric, metric_fn, outputs = "r2", _objectives.r2, 1
    else:
        labels, num_classes = _class_indices(path, target, values, kind)
        counts = np.bincount(labels)
        stratify = bool(counts.min() >= MIN_ROWS_PER_CLASS_TO_STRATIFY)
        if kind == "binary":
            splits = _data.tabular_splits(
                features, labels, stratify=stratify, target_dtype=np.float32
            )
            losses = {"binary-cross-entropy": _objectives.sigmoid_binary_cross_entropy}
            metric_fn, outputs = _objectives.binary_accuracy, 1
        else:
            splits = _data.tabular_splits(
                features,
                labels,
                stratify=stratify,
                target_dtype=np.int32,
                classes=num_classes,
            )
            losses = {"cross-entropy": _objectives.softmax_cross_entropy}
            metric_fn, outputs = _objectives.accuracy, num_classes
        metric = "accuracy"

    num_train = splits.sizes()[0]
    sizes = [features.shape[1], HIDDEN_UNITS, outputs]
    task = Task(
        name=name,
        data=f"{path}: {features.shape[1]} features, target {target!r} ({kind})",
        model=f"MLP {'-'.join(map(str, sizes))}",
        losses=losses,
        metric=metric,
        metric_fn=metric_fn,
        target="none",
        defaults=TrainConfig("adam", 1e-3, "constant", min(32, num_train), 50),
        load=lambda: splits,
        build=lambda splits, rngs: _models().MLP(sizes, rngs=rngs),
        threshold=None,
    )
    return task, splits
