"""Tests of the optgrad command: listing, bad input, JSON and PNG output."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from optgrad import _cli_checks, _cli_commands, cli, tasks
from optgrad.tasks._data import split_indices

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_csv(path, rows=40, *, header=None, cell=None, classes=None):
    """Write a CSV of two features and a target ``y``; optionally spoil one cell."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2))
    if classes is None:
        y = x @ np.array([2.0, -1.0]) + 0.1 * rng.normal(size=rows)
    else:
        y = np.arange(rows) % classes
    lines = [",".join(header or ["a", "b", "y"])]
    lines += [f"{a:.5f},{b:.5f},{t:.5f}" for (a, b), t in zip(x, y, strict=True)]
    if cell is not None:
        lines[3] = f"0.1,{cell},1.0"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _run(argv, capsys):
    status = cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_tasks_lists_every_task(capsys):
    status, out, err = _run(["tasks"], capsys)
    assert status == 0
    assert err == ""
    for name in tasks.task_names():
        assert f"\n{name}\n" in f"\n{out}"
    assert "accuracy >= 0.97" in out


def test_help_and_version_exit_zero(capsys):
    status, out, _ = _run(["--version"], capsys)
    assert status == 0
    assert out.startswith("optgrad ")
    status, out, _ = _run(["train", "--help"], capsys)
    assert status == 0
    assert "--learning-rate" in out


def _bad_inputs(tmp_path):
    """Argument lists that must fail with one line, keyed by the expected words."""
    good = _write_csv(tmp_path / "good.csv")
    return {
        "CSV file not found": [
            "train",
            "--csv",
            str(tmp_path / "missing.csv"),
            "--target",
            "y",
            "--kind",
            "regression",
        ],
        "target column 'price' not found": [
            "train",
            "--csv",
            good,
            "--target",
            "price",
            "--kind",
            "regression",
        ],
        "'abc' is not a number": [
            "train",
            "--csv",
            _write_csv(tmp_path / "text.csv", cell="abc"),
            "--target",
            "y",
            "--kind",
            "regression",
        ],
        "column 'b' is empty;": [
            "train",
            "--csv",
            _write_csv(tmp_path / "empty.csv", cell=""),
            "--target",
            "y",
            "--kind",
            "regression",
        ],
        "'nan' is not a finite number": [
            "train",
            "--csv",
            _write_csv(tmp_path / "nan.csv", cell="nan"),
            "--target",
            "y",
            "--kind",
            "regression",
        ],
        "has 4 data rows; at least 10": [
            "train",
            "--csv",
            _write_csv(tmp_path / "few.csv", rows=4),
            "--target",
            "y",
            "--kind",
            "regression",
        ],
        "needs exactly 2 distinct values": [
            "train",
            "--csv",
            _write_csv(tmp_path / "three.csv", classes=3),
            "--target",
            "y",
            "--kind",
            "binary",
        ],
        "unrecognized arguments: --bogus; run 'optgrad train --help'": [
            "train",
            "--bogus",
        ],
        "invalid choice: 'fit'": ["fit"],
        "unknown task 'mnist'": ["train", "--task", "mnist"],
        "unknown optimizer 'lion9'": ["train", "--optimizer", "lion9"],
        "unknown schedule 'linear'": ["train", "--schedule", "linear"],
        "'many' is not a batch size": ["train", "--batch-size", "many"],
        "batch size 5000 exceeds the 1077 training examples": [
            "train",
            "--batch-size",
            "5000",
        ],
        "lbfgs needs --batch-size full": ["train", "--optimizer", "lbfgs"],
        "--epochs 0 must be at least 1": ["train", "--epochs", "0"],
        "argument --epochs: invalid int value": ["train", "--epochs", "two"],
        "--csv needs --target COLUMN and --kind KIND": ["train", "--csv", good],
        "no loss 'huber'": ["train", "--task", "diabetes", "--loss", "huber"],
        "the directory": ["train", "--json", str(tmp_path / "no" / "r.json")],
        "is a directory": ["compare", "--plot", str(tmp_path)],
        "give --optimizers or --optimizer": [
            "compare",
            "--optimizers",
            "sgd",
            "--optimizer",
            "adam",
        ],
        "--plot PATH or --no-plot, not both": [
            "compare",
            "--plot",
            str(tmp_path / "c.png"),
            "--no-plot",
        ],
        "--optimizers 'adam,' has an empty entry": [
            "compare",
            "--optimizers",
            "adam,",
        ],
        "--optimizers lists adam twice": ["compare", "--optimizers", "sgd,adam,adam"],
        "--batch-sizes lists FULL twice": [
            "compare",
            "--batch-sizes",
            "full,16,FULL",
        ],
        "lbfgs needs the batch size 'full'; remove 16 from --batch-sizes": [
            "compare",
            "--optimizer",
            "lbfgs",
            "--batch-sizes",
            "full,16",
        ],
        "lbfgs needs --batch-size full, not 16": [
            "train",
            "--optimizer",
            "lbfgs",
            "--batch-size",
            "16",
        ],
        "--learning-rate -1 must be a positive number": [
            "train",
            "--learning-rate=-1",
        ],
        "--learning-rate 1e400 must be a positive number": [
            "train",
            "--learning-rate",
            "1e400",
        ],
        "--learning-rate 'fast' is not a number": ["train", "--learning-rate", "fast"],
        "--seed -99999999999999999999 is out of range": [
            "train",
            "--seed=-99999999999999999999",
        ],
        "--seed -1 is out of range; give an integer with 0 <= seed < 2**32": [
            "train",
            "--seed=-1",
        ],
        f"--seed {2**32} is out of range": ["train", "--seed", str(2**32)],
        "run 'optgrad compare --help'": ["compare", "--bogus"],
    }


def _csv_argv(path, kind="regression"):
    return ["train", "--csv", str(path), "--target", "y", "--kind", kind]


def _bad_csv_inputs(tmp_path):
    """CSV files that must be rejected, keyed by the expected words."""
    rng = np.random.default_rng(1)
    rows = [[f"{value:.4f}" for value in row] for row in rng.normal(size=(40, 3))]
    body = "".join(",".join(row) + "\n" for row in rows)

    # The target varies on the training split only.
    train, _, _ = split_indices(len(rows))
    target = np.zeros(len(rows))
    target[train] = np.arange(1, len(train) + 1)

    texts = {
        "constant.csv": "a,b,y\n" + "".join(f"{a},{b},3\n" for a, b, _ in rows),
        "train-only.csv": "a,b,y\n"
        + "".join(
            f"{a},{b},{t:g}\n" for (a, b, _), t in zip(rows, target, strict=True)
        ),
        "first.csv": "a,a,y\n" + body,
        "last.csv": "a,y,y\n" + body,
        "semicolon.csv": "a;b;y\n" + body.replace(",", ";"),
        "tab.csv": "a\tb\ty\n" + body.replace(",", "\t"),
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "latin1.csv").write_bytes(
        b"a,b,y\n" + "caf\u00e9,1,2\n".encode("latin-1") * 12
    )
    (tmp_path / "nul.csv").write_bytes(b"a,b,y\n" + b"1,\x00,2\n" * 12)
    three = _write_csv(tmp_path / "three.csv", classes=3)

    return {
        "column 'y' of ": _csv_argv(tmp_path / "constant.csv"),
        "has the value 3 in every row; the target must vary": _csv_argv(
            tmp_path / "constant.csv", kind="binary"
        ),
        "R^2 is undefined on the test split": _csv_argv(tmp_path / "train-only.csv"),
        "names the column 'a' twice": _csv_argv(tmp_path / "first.csv"),
        "names the column 'y' twice": _csv_argv(tmp_path / "last.csv"),
        "latin1.csv is not UTF-8 text (byte 0xe9": _csv_argv(tmp_path / "latin1.csv"),
        "contains NUL bytes, so it is not a text CSV file": _csv_argv(
            tmp_path / "nul.csv"
        ),
        "with semicolons in it; separate the columns with commas": _csv_argv(
            tmp_path / "semicolon.csv"
        ),
        "with tabs in it; separate the columns with commas": _csv_argv(
            tmp_path / "tab.csv"
        ),
        "found 3: 0, 1, 2; use --kind multiclass, or --kind regression": _csv_argv(
            three, kind="binary"
        ),
    }


def _check_rejected(cases, tmp_path, capsys):
    """Run each argument list and check for one error line and no output files."""
    for expected, argv in cases.items():
        before = sorted(os.listdir(tmp_path))
        json_path = tmp_path / "out.json"
        plot_path = tmp_path / "out.png"
        extra = []
        if "--json" not in argv and argv[0] in ("train", "compare"):
            extra = ["--json", str(json_path)]
        status, out, err = _run(argv + extra + ["--no-progress"], capsys)
        assert status == 2, (argv, err)
        assert out == "", argv
        lines = err.strip().splitlines()
        assert len(lines) == 1, (argv, err)
        assert expected in lines[0], (expected, lines[0])
        assert "Traceback" not in err
        assert sorted(os.listdir(tmp_path)) == before, argv
        assert not plot_path.exists()


def test_bad_input_prints_one_line_in_process(tmp_path, capsys):
    _check_rejected(_bad_inputs(tmp_path), tmp_path, capsys)


def test_bad_csv_prints_one_line(tmp_path, capsys):
    _check_rejected(_bad_csv_inputs(tmp_path), tmp_path, capsys)


def test_binary_kind_on_floats_suggests_regression(tmp_path, capsys):
    data = _write_csv(tmp_path / "float.csv")
    status, _, err = _run([*_csv_argv(data, kind="binary"), "--no-progress"], capsys)
    assert status == 2
    assert "--kind binary needs exactly 2 distinct values" in err
    assert "use --kind regression for a continuous target" in err
    assert "multiclass" not in err


@pytest.mark.parametrize("module", ["optgrad", "optgrad.cli"])
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--bogus"],
        ["train", "--csv", "missing.csv", "--target", "y", "--kind", "binary"],
        ["train", "--task", "wine", "--seed", "-1"],
        ["compare", "--task", "wine", "--optimizers", "sgd,,adam"],
    ],
)
def test_bad_input_as_subprocess(module, argv, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", module, *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


def test_train_csv_writes_json_and_png(tmp_path, capsys):
    data = _write_csv(tmp_path / "data.csv", rows=60)
    json_path = tmp_path / "result.json"
    plot_path = tmp_path / "curve.png"
    status, out, err = _run(
        [
            "train",
            "--csv",
            data,
            "--target",
            "y",
            "--kind",
            "regression",
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--learning-rate",
            "0.01",
            "--seed",
            "2",
            "--json",
            str(json_path),
            "--plot",
            str(plot_path),
            "--no-progress",
        ],
        capsys,
    )
    assert status == 0, err
    assert "test r2" in out
    assert "steps/s" in out

    record = json.loads(json_path.read_text())
    assert record["command"] == "train"
    assert record["data"] == {"csv": data, "target": "y", "kind": "regression"}
    assert record["config"] == {
        "optimizer": "adam",
        "learning_rate": 0.01,
        "schedule": "constant",
        "batch_size": 8,
        "epochs": 3,
        "seed": 2,
        "loss": None,
    }
    metrics = record["metrics"]
    assert {
        "train_loss",
        "val_loss",
        "test_loss",
        "test_r2",
        "seconds",
        "steps_per_second",
    } <= set(metrics)
    assert "target" not in metrics
    assert record["meets_target"] is None

    history = record["history"]
    assert history["epoch"] == [1, 2, 3]
    # 36 training rows in batches of 8: 5 steps per epoch.
    assert history["steps"] == [5, 10, 15]
    for name in ("train_loss", "val_loss", "val_r2", "train_r2"):
        assert len(history[name]) == 3
    assert metrics["train_loss"] == history["train_loss"][-1]
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_multiclass_csv(tmp_path, capsys):
    data = _write_csv(tmp_path / "classes.csv", rows=60, classes=3)
    status, out, err = _run(
        [
            "train",
            "--csv",
            data,
            "--target",
            "y",
            "--kind",
            "multiclass",
            "--epochs",
            "2",
            "--no-progress",
        ],
        capsys,
    )
    assert status == 0, err
    assert "test accuracy" in out


def test_compare_writes_sorted_json_and_figure(tmp_path, capsys):
    data = _write_csv(tmp_path / "data.csv", rows=60)
    json_path = tmp_path / "compare.json"
    plot_path = tmp_path / "compare.png"
    status, out, err = _run(
        [
            "compare",
            "--csv",
            data,
            "--target",
            "y",
            "--kind",
            "regression",
            "--optimizers",
            "sgd,adam",
            "--epochs",
            "2",
            "--json",
            str(json_path),
            "--plot",
            str(plot_path),
            "--no-progress",
        ],
        capsys,
    )
    assert status == 0, err

    record = json.loads(json_path.read_text())
    assert record["command"] == "compare"
    labels = [run["label"] for run in record["runs"]]
    assert sorted(labels) == ["adam", "sgd"]
    values = [run["metrics"]["test_r2"] for run in record["runs"]]
    assert values == sorted(values, reverse=True)
    assert (
        record["runs"][0]["config"]["learning_rate"]
        == (tasks.DEFAULT_LEARNING_RATES[labels[0]])
    )
    assert "rank" in out
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_batch_sizes_labels(tmp_path, capsys):
    data = _write_csv(tmp_path / "data.csv", rows=60)
    json_path = tmp_path / "batches.json"
    status, _, err = _run(
        [
            "compare",
            "--csv",
            data,
            "--target",
            "y",
            "--kind",
            "regression",
            "--batch-sizes",
            "full,1,8",
            "--epochs",
            "1",
            "--json",
            str(json_path),
            "--no-plot",
            "--no-progress",
        ],
        capsys,
    )
    assert status == 0, err
    runs = json.loads(json_path.read_text())["runs"]
    steps = {run["label"]: run["history"]["steps"][-1] for run in runs}
    assert steps == {"batch full": 1, "batch 1": 36, "batch 8": 5}
    assert not list(tmp_path.glob("*.png"))


def test_outputs_onto_input_or_each_other_rejected(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _write_csv(tmp_path / "mine.csv")
    original = (tmp_path / "mine.csv").read_bytes()
    os.symlink(data, tmp_path / "link.csv")
    cases = {
        f"--plot {data} is the input file of --csv and would be overwritten": [
            *_csv_argv(data),
            "--plot",
            data,
        ],
        f"--json {data} is the input file of --csv": [*_csv_argv(data), "--json", data],
        "--plot link.csv is the input file of --csv": [
            *_csv_argv(data),
            "--plot",
            "link.csv",
        ],
        "--json same.json and --plot ./same.json name the same file; give each": [
            "train",
            "--json",
            "same.json",
            "--plot",
            "./same.json",
        ],
        f"--json same.png and --plot {tmp_path / 'same.png'} name the same file": [
            "compare",
            "--json",
            "same.png",
            "--plot",
            str(tmp_path / "same.png"),
        ],
    }
    _check_rejected(cases, tmp_path, capsys)
    assert (tmp_path / "mine.csv").read_bytes() == original


def test_output_suffix_and_directory_checked(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    cases = {
        "curve.pdf: the file is written as PNG, so its name must end in .png": [
            "train",
            "--plot",
            str(tmp_path / "curve.pdf"),
        ],
        "result.txt: the file is written as JSON, so its name must end in .json": [
            "train",
            "--json",
            str(tmp_path / "result.txt"),
        ],
        "runs: the file is written as PNG": [
            "compare",
            "--plot",
            str(tmp_path / "runs"),
        ],
        f"x.json: {afile} is not a directory": [
            "train",
            "--json",
            str(afile / "x.json"),
        ],
        "--plot needs a file name, got an empty one": ["train", "--plot", ""],
    }
    _check_rejected(cases, tmp_path, capsys)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc and /sys")
def test_system_paths_rejected_before_training(tmp_path, capsys):
    cases = {
        "--json /proc/x.json: ": ["train", "--json", "/proc/x.json"],
        "--plot /proc/c.png: ": ["train", "--plot", "/proc/c.png"],
        "--plot /sys/c.png: ": ["compare", "--plot", "/sys/c.png"],
    }
    _check_rejected(cases, tmp_path, capsys)


def test_unwritable_output_rejected(tmp_path, capsys, monkeypatch):
    existing = tmp_path / "old.json"
    existing.write_text("{}\n")
    real_access = os.access
    # Root passes every permission check, so the denial is simulated.
    monkeypatch.setattr(
        os,
        "access",
        lambda path, mode: path != str(existing) and real_access(path, mode),
    )
    _check_rejected(
        {
            f"--json {existing}: the file is not writable": [
                "train",
                "--json",
                str(existing),
            ]
        },
        tmp_path,
        capsys,
    )
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    _check_rejected(
        {
            f"the directory {tmp_path} is not writable": [
                "train",
                "--plot",
                str(tmp_path / "c.png"),
            ]
        },
        tmp_path,
        capsys,
    )


def test_write_failure_after_training_is_one_line(tmp_path, capsys, monkeypatch):
    # Skip the checks before training, so that the write itself fails.
    monkeypatch.setattr(_cli_checks, "check_outputs", lambda *args: None)
    data = _write_csv(tmp_path / "data.csv")
    for option, name in (("--json", "r.json"), ("--plot", "c.png")):
        path = tmp_path / "missing" / name
        argv = [*_csv_argv(data), "--epochs", "1", "--no-progress", option, str(path)]
        status, out, err = _run(argv, capsys)
        assert status == 2, err
        assert "test r2" in out
        assert err.strip().splitlines() == [
            f"optgrad train: error: could not write {path}: No such file or directory"
        ]


@pytest.mark.parametrize(
    ("module", "distribution", "extra"),
    [
        ("sklearn", "scikit-learn", ["--no-progress"]),
        ("flax", "flax", ["--no-progress"]),
        ("matplotlib", "matplotlib", ["--no-progress", "--plot", "c.png"]),
        ("tqdm", "tqdm", []),
    ],
)
def test_missing_tasks_extra_is_one_line(
    module, distribution, extra, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    # A None entry makes every import of the module fail, as when it is missing.
    monkeypatch.setitem(sys.modules, module, None)
    status, out, err = _run(
        ["train", "--epochs", "1", "--json", "r.json", *extra], capsys
    )
    assert status == 2
    assert out == ""
    assert err.strip().splitlines() == [
        f"optgrad train: error: {distribution} is not installed; optgrad train "
        'needs the tasks extra: pip install ".[tasks]" in the optgrad repository'
    ]
    assert os.listdir(tmp_path) == []


def test_failed_import_while_loading_is_one_line(tmp_path, capsys, monkeypatch):
    # scikit-learn is found, but one of its modules fails to import later.
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    status, out, err = _run(["compare", "--task", "wine", "--no-plot"], capsys)
    assert status == 2
    assert out == ""
    assert err.strip().splitlines() == [
        "optgrad compare: error: scikit-learn is not installed; optgrad compare "
        'needs the tasks extra: pip install ".[tasks]" in the optgrad repository'
    ]


def test_other_import_errors_keep_traceback(monkeypatch):
    def broken(args):
        raise ImportError("cannot import name 'missing'", name="optgrad.missing")

    monkeypatch.setattr(_cli_commands, "run_train", broken)
    with pytest.raises(ImportError, match="cannot import name 'missing'"):
        cli.main(["train"])


def test_tasks_import_error_reads_as_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"^optgrad\.tasks needs scikit-learn, which"):
        tasks.get_task("wine").load()


def test_ctrl_c_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tasks, "train", interrupted)
    data = _write_csv(tmp_path / "data.csv")
    json_path = tmp_path / "r.json"
    argv = [*_csv_argv(data), "--no-progress", "--json", str(json_path)]
    status, out, err = _run(argv, capsys)
    assert status == 130
    assert out.startswith("data.csv: adam")
    assert err.strip().splitlines() == ["optgrad train: interrupted"]
    assert not json_path.exists()


def test_tasks_listing_is_consistent(capsys):
    status, out, _ = _run(["tasks"], capsys)
    assert status == 0
    data_lines = [line for line in out.splitlines() if line.startswith("  data:")]
    assert len(data_lines) == len(tasks.task_names())
    for line in data_lines:
        assert re.search(r"\(\d+ examples\)$", line), line
    assert "target:   R^2 within 0.03 of scikit-learn's LinearRegression" in out


def test_train_wording_for_one_epoch(tmp_path, capsys):
    data = _write_csv(tmp_path / "data.csv")
    seed = str(2**32 - 1)
    argv = [*_csv_argv(data), "--epochs", "1", "--batch-size", "full", "--seed", seed]
    status, out, err = _run([*argv, "--loss", "mae", "--no-progress"], capsys)
    assert status == 0, err
    assert err == ""
    assert out.startswith(
        "data.csv: adam, learning rate 0.001, schedule constant, batch size full, "
        f"loss mae, 1 epoch, seed {seed}\n"
    )
    assert "(1 step)\n" in out


def test_diabetes_target_and_compare_table(tmp_path, capsys):
    json_path = tmp_path / "runs.json"
    argv = ["compare", "--task", "diabetes", "--optimizers", "sgd,adam"]
    argv += ["--epochs", "1", "--loss", "mae", "--no-plot", "--no-progress"]
    status, out, err = _run([*argv, "--json", str(json_path)], capsys)
    assert status == 0, err

    reference = tasks.linear_regression_r2(tasks.get_task("diabetes").load())
    target = f"r2 >= {reference - 0.03:.4g} (LinearRegression {reference:.4f} - 0.03)"
    assert f"\ntarget: {target}\n" in out
    assert "comparing 2 runs" in out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    header = re.split(r" {2,}", lines[start])
    assert header[:4] == ["rank", "run", "test r2", "target"]
    verdicts = {}
    for line in lines[start + 1 : start + 3]:
        cells = re.split(r" {2,}", line)
        verdicts[cells[1]] = cells[3]
        assert ", loss mae, 1 epoch, " in cells[-1]
    runs = json.loads(json_path.read_text())["runs"]
    expected = {r["label"]: "met" if r["meets_target"] else "not met" for r in runs}
    assert verdicts == expected


def test_target_line_and_single_run(capsys):
    argv = ["compare", "--task", "diabetes", "--optimizers", "adam"]
    status, out, err = _run(
        [*argv, "--epochs", "1", "--no-plot", "--no-progress"], capsys
    )
    assert status == 0, err
    assert "diabetes: comparing 1 run, seed 0" in out

    status, out, err = _run(
        ["train", "--task", "diabetes", "--epochs", "1", "--no-progress"], capsys
    )
    assert status == 0, err
    line = next(line for line in out.splitlines() if line.startswith("test r2"))
    assert re.fullmatch(
        r"test r2 -?\d\.\d{4}; target r2 >= 0\.\d+ \(LinearRegression 0\.\d{4} - "
        r"0\.03\): (met|not met)",
        line,
    ), line


def test_diverged_training_warns(tmp_path, capsys):
    data = _write_csv(tmp_path / "data.csv")
    argv = [*_csv_argv(data), "--optimizer", "sgd", "--learning-rate", "1e30"]
    status, out, err = _run([*argv, "--epochs", "5", "--no-progress"], capsys)
    assert status == 0
    assert "final train loss nan" in out
    assert err.strip().splitlines() == [
        "optgrad train: warning: the sgd run diverged (final train loss nan, "
        "stopped after epoch 2 of 5); try a learning rate below 1e+30"
    ]
