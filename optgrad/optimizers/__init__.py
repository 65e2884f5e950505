"""The named optimizers, each one ``chain`` of transforms."""

from optgrad.optimizers._adam import adam as adam
from optgrad.optimizers._backtracking_linesearch import (
    BacktrackingLinesearchInfo as BacktrackingLinesearchInfo,
)
from optgrad.optimizers._backtracking_linesearch import (
    ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState,
)
from optgrad.optimizers._backtracking_linesearch import (
    scale_by_backtracking_linesearch as scale_by_backtracking_linesearch,
)
from optgrad.optimizers._lbfgs import ScaleByLBFGSState as ScaleByLBFGSState
from optgrad.optimizers._lbfgs import lbfgs as lbfgs
from optgrad.optimizers._lbfgs import scale_by_lbfgs as scale_by_lbfgs
from optgrad.optimizers._linesearch import (
    value_and_grad_from_state as value_and_grad_from_state,
)
from optgrad.optimizers._sgd import sgd as sgd
from optgrad.optimizers._zoom_linesearch import (
    ScaleByZoomLinesearchState as ScaleByZoomLinesearchState,
)
from optgrad.optimizers._zoom_linesearch import ZoomLinesearchInfo as ZoomLinesearchInfo
from optgrad.optimizers._zoom_linesearch import (
    scale_by_zoom_linesearch as scale_by_zoom_linesearch,
)
