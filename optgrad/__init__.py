"""optgrad: functional gradient transformations, losses and training loops for JAX."""

__version__ = "0.1.0.dev0"

from optgrad import tree as tree
from optgrad._base import EmptyState as EmptyState
from optgrad._base import GradientTransformation as GradientTransformation
from optgrad._base import (
    GradientTransformationExtraArgs as GradientTransformationExtraArgs,
)
from optgrad._base import TransformInitFn as TransformInitFn
from optgrad._base import TransformUpdateExtraArgsFn as TransformUpdateExtraArgsFn
from optgrad._base import TransformUpdateFn as TransformUpdateFn
from optgrad._base import identity as identity
from optgrad._base import init_empty_state as init_empty_state
from optgrad._base import set_to_zero as set_to_zero
from optgrad._base import stateless as stateless
from optgrad._base import stateless_with_tree_map as stateless_with_tree_map
from optgrad._base import with_extra_args_support as with_extra_args_support
from optgrad._numerics import global_norm as global_norm
from optgrad._numerics import safe_increment as safe_increment
from optgrad._numerics import safe_int32_increment as safe_int32_increment
from optgrad._numerics import safe_norm as safe_norm
from optgrad._numerics import safe_root_mean_squares as safe_root_mean_squares
from optgrad._typing import MaskOrFn as MaskOrFn
from optgrad._typing import OptState as OptState
from optgrad._typing import Params as Params
from optgrad._typing import ScalarOrSchedule as ScalarOrSchedule
from optgrad._typing import Schedule as Schedule
from optgrad._typing import Updates as Updates
from optgrad._update import apply_updates as apply_updates
from optgrad._update import incremental_update as incremental_update
from optgrad._update import periodic_update as periodic_update
from optgrad.optimizers import adadelta as adadelta
from optgrad.optimizers import adafactor as adafactor
from optgrad.optimizers import adagrad as adagrad
from optgrad.optimizers import adam as adam
from optgrad.optimizers import fromage as fromage
from optgrad.optimizers import lamb as lamb
from optgrad.optimizers import lars as lars
from optgrad.optimizers import (
    optimistic_gradient_descent as optimistic_gradient_descent,
)
from optgrad.optimizers import polyak_sgd as polyak_sgd
from optgrad.optimizers import rmsprop as rmsprop
from optgrad.optimizers import rprop as rprop
from optgrad.optimizers import sgd as sgd
from optgrad.optimizers import sign_sgd as sign_sgd
from optgrad.optimizers import signum as signum
from optgrad.optimizers import sm3 as sm3
from optgrad.transforms import AddDecayedWeightsState as AddDecayedWeightsState
from optgrad.transforms import EmaState as EmaState
from optgrad.transforms import FactoredState as FactoredState
from optgrad.transforms import MaskedNode as MaskedNode
from optgrad.transforms import MaskedState as MaskedState
from optgrad.transforms import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from optgrad.transforms import ScaleByAdamState as ScaleByAdamState
from optgrad.transforms import ScaleByRmsState as ScaleByRmsState
from optgrad.transforms import ScaleByRpropState as ScaleByRpropState
from optgrad.transforms import ScaleByRssState as ScaleByRssState
from optgrad.transforms import ScaleByRStdDevState as ScaleByRStdDevState
from optgrad.transforms import ScaleByScheduleState as ScaleByScheduleState
from optgrad.transforms import ScaleBySM3State as ScaleBySM3State
from optgrad.transforms import ScaleByTrustRatioState as ScaleByTrustRatioState
from optgrad.transforms import ScaleState as ScaleState
from optgrad.transforms import TraceState as TraceState
from optgrad.transforms import add_decayed_weights as add_decayed_weights
from optgrad.transforms import chain as chain
from optgrad.transforms import ema as ema
from optgrad.transforms import masked as masked
from optgrad.transforms import named_chain as named_chain
from optgrad.transforms import scale as scale
from optgrad.transforms import scale_by_adadelta as scale_by_adadelta
from optgrad.transforms import scale_by_adam as scale_by_adam
from optgrad.transforms import (
    scale_by_distance_over_gradients as scale_by_distance_over_gradients,
)
from optgrad.transforms import scale_by_factored_rms as scale_by_factored_rms
from optgrad.transforms import scale_by_learning_rate as scale_by_learning_rate
from optgrad.transforms import (
    scale_by_optimistic_gradient as scale_by_optimistic_gradient,
)
from optgrad.transforms import scale_by_param_block_norm as scale_by_param_block_norm
from optgrad.transforms import scale_by_param_block_rms as scale_by_param_block_rms
from optgrad.transforms import scale_by_polyak as scale_by_polyak
from optgrad.transforms import scale_by_rms as scale_by_rms
from optgrad.transforms import scale_by_rprop as scale_by_rprop
from optgrad.transforms import scale_by_rss as scale_by_rss
from optgrad.transforms import scale_by_schedule as scale_by_schedule
from optgrad.transforms import scale_by_sign as scale_by_sign
from optgrad.transforms import scale_by_sm3 as scale_by_sm3
from optgrad.transforms import scale_by_stddev as scale_by_stddev
from optgrad.transforms import scale_by_trust_ratio as scale_by_trust_ratio
from optgrad.transforms import trace as trace
