"""Built-in tasks on real data: data, Flax NNX model, loss, metric and target.

The data comes from data sets bundled with scikit-learn, so nothing is
downloaded. Building data or models needs the ``tasks`` extra (Flax and
scikit-learn); listing the tasks does not.
"""

from optgrad.tasks._data import Splits as Splits
from optgrad.tasks._registry import Task as Task
from optgrad.tasks._registry import TrainConfig as TrainConfig
from optgrad.tasks._registry import get_task as get_task
from optgrad.tasks._registry import linear_regression_r2 as linear_regression_r2
from optgrad.tasks._registry import task_names as task_names
from optgrad.tasks._run import COMMON_OPTIMIZERS as COMMON_OPTIMIZERS
from optgrad.tasks._run import DEFAULT_LEARNING_RATES as DEFAULT_LEARNING_RATES
from optgrad.tasks._run import SCHEDULES as SCHEDULES
from optgrad.tasks._run import RunResult as RunResult
from optgrad.tasks._run import build_optimizer as build_optimizer
from optgrad.tasks._run import compare as compare
from optgrad.tasks._run import comparison_figure as comparison_figure
from optgrad.tasks._run import optimizer_names as optimizer_names
from optgrad.tasks._run import train as train
