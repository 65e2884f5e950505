"""The named optimizers, each one ``chain`` of transforms."""

from optgrad.optimizers._adam import adam as adam
from optgrad.optimizers._adam import adamw as adamw
from optgrad.optimizers._adam import nadam as nadam
from optgrad.optimizers._adam import nadamw as nadamw
from optgrad.optimizers._adam_variants import adabelief as adabelief
from optgrad.optimizers._adam_variants import adamax as adamax
from optgrad.optimizers._adam_variants import adamaxw as adamaxw
from optgrad.optimizers._adam_variants import amsgrad as amsgrad
from optgrad.optimizers._adam_variants import radam as radam
from optgrad.optimizers._adam_variants import yogi as yogi
from optgrad.optimizers._adan import adan as adan
from optgrad.optimizers._adaptive import adadelta as adadelta
from optgrad.optimizers._adaptive import adafactor as adafactor
from optgrad.optimizers._adaptive import adagrad as adagrad
from optgrad.optimizers._adaptive import rmsprop as rmsprop
from optgrad.optimizers._adaptive import sm3 as sm3
from optgrad.optimizers._backtracking_linesearch import (
    BacktrackingLinesearchInfo as BacktrackingLinesearchInfo,
)
from optgrad.optimizers._backtracking_linesearch import (
    ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState,
)
from optgrad.optimizers._backtracking_linesearch import (
    scale_by_backtracking_linesearch as scale_by_backtracking_linesearch,
)
from optgrad.optimizers._layerwise import fromage as fromage
from optgrad.optimizers._layerwise import lamb as lamb
from optgrad.optimizers._layerwise import lars as lars
from optgrad.optimizers._lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from optgrad.optimizers._lbfgs import lbfgs as lbfgs
from optgrad.optimizers._lbfgs import scale_by_lbfgs as scale_by_lbfgs
from optgrad.optimizers._linesearch import (
    value_and_grad_from_state as value_and_grad_from_state,
)
from optgrad.optimizers._lion import lion as lion
from optgrad.optimizers._noisy_sgd import noisy_sgd as noisy_sgd
from optgrad.optimizers._novograd import novograd as novograd
from optgrad.optimizers._optimistic_adam import optimistic_adam as optimistic_adam
from optgrad.optimizers._optimistic_adam import optimistic_adam_v2 as optimistic_adam_v2
from optgrad.optimizers._sgd import (
    optimistic_gradient_descent as optimistic_gradient_descent,
)
from optgrad.optimizers._sgd import polyak_sgd as polyak_sgd
from optgrad.optimizers._sgd import rprop as rprop
from optgrad.optimizers._sgd import sgd as sgd
from optgrad.optimizers._sgd import sign_sgd as sign_sgd
from optgrad.optimizers._sgd import signum as signum
from optgrad.optimizers._zoom_linesearch import (
    ScaleByZoomLinesearchState as ScaleByZoomLinesearchState,
)
from optgrad.optimizers._zoom_linesearch import ZoomLinesearchInfo as ZoomLinesearchInfo
from optgrad.optimizers._zoom_linesearch import (
    scale_by_zoom_linesearch as scale_by_zoom_linesearch,
)
