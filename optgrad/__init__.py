"""optgrad: functional gradient transformations, losses and training loops for JAX."""

__version__ = "0.1.0.dev0"

from optgrad import losses as losses
from optgrad import schedules as schedules
from optgrad import training as training
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
from optgrad.losses import convex_kl_divergence as convex_kl_divergence
from optgrad.losses import cosine_distance as cosine_distance
from optgrad.losses import cosine_similarity as cosine_similarity
from optgrad.losses import ctc_loss as ctc_loss
from optgrad.losses import ctc_loss_with_forward_probs as ctc_loss_with_forward_probs
from optgrad.losses import generalized_kl_divergence as generalized_kl_divergence
from optgrad.losses import hinge_loss as hinge_loss
from optgrad.losses import huber_loss as huber_loss
from optgrad.losses import kl_divergence as kl_divergence
from optgrad.losses import l2_loss as l2_loss
from optgrad.losses import log_cosh as log_cosh
from optgrad.losses import ntxent as ntxent
from optgrad.losses import safe_softmax_cross_entropy as safe_softmax_cross_entropy
from optgrad.losses import sigmoid_binary_cross_entropy as sigmoid_binary_cross_entropy
from optgrad.losses import sigmoid_focal_loss as sigmoid_focal_loss
from optgrad.losses import smooth_labels as smooth_labels
from optgrad.losses import softmax_cross_entropy as softmax_cross_entropy
from optgrad.losses import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_integer_labels,  # noqa: E501
)
from optgrad.losses import squared_error as squared_error
from optgrad.optimizers import (
    ScaleByBacktrackingLinesearchState as ScaleByBacktrackingLinesearchState,
)
from optgrad.optimizers import ScaleByLBFGSState as ScaleByLBFGSState
from optgrad.optimizers import ScaleByZoomLinesearchState as ScaleByZoomLinesearchState
from optgrad.optimizers import ZoomLinesearchInfo as ZoomLinesearchInfo
from optgrad.optimizers import adabelief as adabelief
from optgrad.optimizers import adadelta as adadelta
from optgrad.optimizers import adafactor as adafactor
from optgrad.optimizers import adagrad as adagrad
from optgrad.optimizers import adam as adam
from optgrad.optimizers import adamax as adamax
from optgrad.optimizers import adamaxw as adamaxw
from optgrad.optimizers import adamw as adamw
from optgrad.optimizers import adan as adan
from optgrad.optimizers import amsgrad as amsgrad
from optgrad.optimizers import fromage as fromage
from optgrad.optimizers import lamb as lamb
from optgrad.optimizers import lars as lars
from optgrad.optimizers import lbfgs as lbfgs
from optgrad.optimizers import lion as lion
from optgrad.optimizers import nadam as nadam
from optgrad.optimizers import nadamw as nadamw
from optgrad.optimizers import noisy_sgd as noisy_sgd
from optgrad.optimizers import novograd as novograd
from optgrad.optimizers import optimistic_adam as optimistic_adam
from optgrad.optimizers import optimistic_adam_v2 as optimistic_adam_v2
from optgrad.optimizers import (
    optimistic_gradient_descent as optimistic_gradient_descent,
)
from optgrad.optimizers import polyak_sgd as polyak_sgd
from optgrad.optimizers import radam as radam
from optgrad.optimizers import rmsprop as rmsprop
from optgrad.optimizers import rprop as rprop
from optgrad.optimizers import (
    scale_by_backtracking_linesearch as scale_by_backtracking_linesearch,
)
from optgrad.optimizers import scale_by_lbfgs as scale_by_lbfgs
from optgrad.optimizers import scale_by_zoom_linesearch as scale_by_zoom_linesearch
from optgrad.optimizers import sgd as sgd
from optgrad.optimizers import sign_sgd as sign_sgd
from optgrad.optimizers import signum as signum
from optgrad.optimizers import sm3 as sm3
from optgrad.optimizers import value_and_grad_from_state as value_and_grad_from_state
from optgrad.optimizers import yogi as yogi
from optgrad.schedules import InjectHyperparamsState as InjectHyperparamsState
from optgrad.schedules import (
    InjectStatefulHyperparamsState as InjectStatefulHyperparamsState,
)
from optgrad.schedules import WrappedSchedule as WrappedSchedule
from optgrad.schedules import constant_schedule as constant_schedule
from optgrad.schedules import cosine_decay_schedule as cosine_decay_schedule
from optgrad.schedules import cosine_onecycle_schedule as cosine_onecycle_schedule
from optgrad.schedules import exponential_decay as exponential_decay
from optgrad.schedules import inject_hyperparams as inject_hyperparams
from optgrad.schedules import inject_stateful_hyperparams as inject_stateful_hyperparams
from optgrad.schedules import join_schedules as join_schedules
from optgrad.schedules import linear_onecycle_schedule as linear_onecycle_schedule
from optgrad.schedules import linear_schedule as linear_schedule
from optgrad.schedules import piecewise_constant_schedule as piecewise_constant_schedule
from optgrad.schedules import (
    piecewise_interpolate_schedule as piecewise_interpolate_schedule,
)
from optgrad.schedules import polynomial_schedule as polynomial_schedule
from optgrad.schedules import sgdr_schedule as sgdr_schedule
from optgrad.schedules import warmup_constant_schedule as warmup_constant_schedule
from optgrad.schedules import (
    warmup_cosine_decay_schedule as warmup_cosine_decay_schedule,
)
from optgrad.schedules import (
    warmup_exponential_decay_schedule as warmup_exponential_decay_schedule,
)
from optgrad.transforms import AdaptiveGradClipState as AdaptiveGradClipState
from optgrad.transforms import AddDecayedWeightsState as AddDecayedWeightsState
from optgrad.transforms import AddNoiseState as AddNoiseState
from optgrad.transforms import ApplyEvery as ApplyEvery
from optgrad.transforms import ApplyIfFiniteState as ApplyIfFiniteState
from optgrad.transforms import ClipByGlobalNormState as ClipByGlobalNormState
from optgrad.transforms import ClipState as ClipState
from optgrad.transforms import ConditionallyMaskState as ConditionallyMaskState
from optgrad.transforms import (
    ConditionallyTransformState as ConditionallyTransformState,
)
from optgrad.transforms import EmaState as EmaState
from optgrad.transforms import FactoredState as FactoredState
from optgrad.transforms import LookaheadParams as LookaheadParams
from optgrad.transforms import LookaheadState as LookaheadState
from optgrad.transforms import MaskedNode as MaskedNode
from optgrad.transforms import MaskedState as MaskedState
from optgrad.transforms import MonitorState as MonitorState
from optgrad.transforms import MultiSteps as MultiSteps
from optgrad.transforms import MultiStepsState as MultiStepsState
from optgrad.transforms import MultiTransformState as MultiTransformState
from optgrad.transforms import NonNegativeParamsState as NonNegativeParamsState
from optgrad.transforms import PartitionState as PartitionState
from optgrad.transforms import ReduceLROnPlateauState as ReduceLROnPlateauState
from optgrad.transforms import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from optgrad.transforms import ScaleByAdamState as ScaleByAdamState
from optgrad.transforms import ScaleByAdanState as ScaleByAdanState
from optgrad.transforms import ScaleByAmsgradState as ScaleByAmsgradState
from optgrad.transforms import ScaleByBeliefState as ScaleByBeliefState
from optgrad.transforms import ScaleByLionState as ScaleByLionState
from optgrad.transforms import ScaleByNovogradState as ScaleByNovogradState
from optgrad.transforms import ScaleByRmsState as ScaleByRmsState
from optgrad.transforms import ScaleByRpropState as ScaleByRpropState
from optgrad.transforms import ScaleByRssState as ScaleByRssState
from optgrad.transforms import ScaleByRStdDevState as ScaleByRStdDevState
from optgrad.transforms import ScaleByScheduleState as ScaleByScheduleState
from optgrad.transforms import ScaleBySM3State as ScaleBySM3State
from optgrad.transforms import ScaleByTrustRatioState as ScaleByTrustRatioState
from optgrad.transforms import ScaleState as ScaleState
from optgrad.transforms import ShouldSkipUpdateFunction as ShouldSkipUpdateFunction
from optgrad.transforms import SnapshotState as SnapshotState
from optgrad.transforms import TraceState as TraceState
from optgrad.transforms import TrackNormsState as TrackNormsState
from optgrad.transforms import ZeroNansState as ZeroNansState
from optgrad.transforms import adaptive_grad_clip as adaptive_grad_clip
from optgrad.transforms import add_decayed_weights as add_decayed_weights
from optgrad.transforms import add_noise as add_noise
from optgrad.transforms import apply_every as apply_every
from optgrad.transforms import apply_if_finite as apply_if_finite
from optgrad.transforms import centralize as centralize
from optgrad.transforms import chain as chain
from optgrad.transforms import clip as clip
from optgrad.transforms import clip_by_block_rms as clip_by_block_rms
from optgrad.transforms import clip_by_global_norm as clip_by_global_norm
from optgrad.transforms import conditionally_mask as conditionally_mask
from optgrad.transforms import conditionally_transform as conditionally_transform
from optgrad.transforms import ema as ema
from optgrad.transforms import flatten as flatten
from optgrad.transforms import freeze as freeze
from optgrad.transforms import keep_params_nonnegative as keep_params_nonnegative
from optgrad.transforms import lookahead as lookahead
from optgrad.transforms import masked as masked
from optgrad.transforms import measure_with_ema as measure_with_ema
from optgrad.transforms import monitor as monitor
from optgrad.transforms import multi_transform as multi_transform
from optgrad.transforms import named_chain as named_chain
from optgrad.transforms import normalize_by_update_norm as normalize_by_update_norm
from optgrad.transforms import partition as partition
from optgrad.transforms import (
    per_example_global_norm_clip as per_example_global_norm_clip,
)
from optgrad.transforms import (
    per_example_layer_norm_clip as per_example_layer_norm_clip,
)
from optgrad.transforms import reduce_on_plateau as reduce_on_plateau
from optgrad.transforms import scale as scale
from optgrad.transforms import scale_by_adadelta as scale_by_adadelta
from optgrad.transforms import scale_by_adam as scale_by_adam
from optgrad.transforms import scale_by_adamax as scale_by_adamax
from optgrad.transforms import scale_by_adan as scale_by_adan
from optgrad.transforms import scale_by_amsgrad as scale_by_amsgrad
from optgrad.transforms import scale_by_belief as scale_by_belief
from optgrad.transforms import (
    scale_by_distance_over_gradients as scale_by_distance_over_gradients,
)
from optgrad.transforms import scale_by_factored_rms as scale_by_factored_rms
from optgrad.transforms import scale_by_learning_rate as scale_by_learning_rate
from optgrad.transforms import scale_by_lion as scale_by_lion
from optgrad.transforms import scale_by_novograd as scale_by_novograd
from optgrad.transforms import (
    scale_by_optimistic_gradient as scale_by_optimistic_gradient,
)
from optgrad.transforms import scale_by_param_block_norm as scale_by_param_block_norm
from optgrad.transforms import scale_by_param_block_rms as scale_by_param_block_rms
from optgrad.transforms import scale_by_polyak as scale_by_polyak
from optgrad.transforms import scale_by_radam as scale_by_radam
from optgrad.transforms import scale_by_rms as scale_by_rms
from optgrad.transforms import scale_by_rprop as scale_by_rprop
from optgrad.transforms import scale_by_rss as scale_by_rss
from optgrad.transforms import scale_by_schedule as scale_by_schedule
from optgrad.transforms import scale_by_sign as scale_by_sign
from optgrad.transforms import scale_by_sm3 as scale_by_sm3
from optgrad.transforms import scale_by_stddev as scale_by_stddev
from optgrad.transforms import scale_by_trust_ratio as scale_by_trust_ratio
from optgrad.transforms import scale_by_yogi as scale_by_yogi
from optgrad.transforms import selective_transform as selective_transform
from optgrad.transforms import skip_large_updates as skip_large_updates
from optgrad.transforms import skip_not_finite as skip_not_finite
from optgrad.transforms import snapshot as snapshot
from optgrad.transforms import trace as trace
from optgrad.transforms import track_norms as track_norms
from optgrad.transforms import zero_nans as zero_nans
