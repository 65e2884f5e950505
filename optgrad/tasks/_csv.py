"""A task built from the user's own CSV file: numeric columns and one target."""

import csv
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
        CsvError: For a missing or unreadable file, a missing target column,
            a row of the wrong length, a cell that is not a finite number,
            or fewer than ``MIN_ROWS`` rows.
    """
    if not os.path.exists(path):
        raise CsvError(f"CSV file not found: {path}")
    if os.path.isdir(path):
        raise CsvError(f"{path} is a directory, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CsvError(f"cannot read {path}: {error}") from error

    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise CsvError(f"{path} is empty; it needs a header row and data rows")
    header = [name.strip() for name in rows[0]]
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


def _number(path: str, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    try:
        value = float(text)
    except ValueError:
        shown = "is empty" if not text else f"{text!r} is not a number"
        raise CsvError(
            f"{path} line {line}, column {column!r}: {shown}; every cell must be "
            "a number"
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
    if kind == "binary" and len(classes) != 2:
        shown = ", ".join(f"{c:g}" for c in classes[:10])
        raise CsvError(
            f"--kind binary needs exactly 2 distinct values in column {target!r} "
            f"of {path}, found {len(classes)}: {shown}"
            + ("" if len(classes) <= 10 else ", ...")
            + "; use --kind multiclass or --kind regression"
        )
    if kind == "multiclass":
        if len(classes) < 2:
            raise CsvError(
                f"--kind multiclass needs at least 2 distinct values in column "
                f"{target!r} of {path}, found {len(classes)}"
            )
        fractional = classes[classes != np.round(classes)]
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
        CsvError: For an unusable file or ``kind`` (see ``read_csv``).
    """
    if kind not in KINDS:
        raise CsvError(f"unknown --kind {kind!r}; choose one of {', '.join(KINDS)}")
    features, values, _ = read_csv(path, target)
    name = os.path.basename(path)

    if kind == "regression":
        splits = _data.tabular_splits(
            features,
            values,
            stratify=False,
            target_dtype=np.float32,
            standardize_targets=True,
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
