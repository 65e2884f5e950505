"""Training loops: batch, mini-batch and stochastic descent as jitted epochs."""

from optgrad.training._callbacks import Callback as Callback
from optgrad.training._callbacks import EarlyStopping as EarlyStopping
from optgrad.training._callbacks import TerminateOnNaN as TerminateOnNaN
from optgrad.training._fit import evaluate as evaluate
from optgrad.training._fit import fit as fit
from optgrad.training._history import History as History
