"""Gradient transformations: the building blocks that optimizers chain."""

from optgrad.transforms._accumulation import ApplyEvery as ApplyEvery
from optgrad.transforms._accumulation import MultiSteps as MultiSteps
from optgrad.transforms._accumulation import MultiStepsState as MultiStepsState
from optgrad.transforms._accumulation import (
    ShouldSkipUpdateFunction as ShouldSkipUpdateFunction,
)
from optgrad.transforms._accumulation import apply_every as apply_every
from optgrad.transforms._accumulation import skip_large_updates as skip_large_updates
from optgrad.transforms._accumulation import skip_not_finite as skip_not_finite
from optgrad.transforms._adam import ScaleByAdamState as ScaleByAdamState
from optgrad.transforms._adam import scale_by_adam as scale_by_adam
from optgrad.transforms._adam_variants import ScaleByAmsgradState as ScaleByAmsgradState
from optgrad.transforms._adam_variants import ScaleByBeliefState as ScaleByBeliefState
from optgrad.transforms._adam_variants import scale_by_adamax as scale_by_adamax
from optgrad.transforms._adam_variants import scale_by_amsgrad as scale_by_amsgrad
from optgrad.transforms._adam_variants import scale_by_belief as scale_by_belief
from optgrad.transforms._adam_variants import scale_by_radam as scale_by_radam
from optgrad.transforms._adam_variants import scale_by_yogi as scale_by_yogi
from optgrad.transforms._adan import ScaleByAdanState as ScaleByAdanState
from optgrad.transforms._adan import scale_by_adan as scale_by_adan
from optgrad.transforms._clipping import AdaptiveGradClipState as AdaptiveGradClipState
from optgrad.transforms._clipping import ClipByGlobalNormState as ClipByGlobalNormState
from optgrad.transforms._clipping import ClipState as ClipState
from optgrad.transforms._clipping import adaptive_grad_clip as adaptive_grad_clip
from optgrad.transforms._clipping import clip as clip
from optgrad.transforms._clipping import clip_by_block_rms as clip_by_block_rms
from optgrad.transforms._clipping import clip_by_global_norm as clip_by_global_norm
from optgrad.transforms._clipping import unitwise_clip as unitwise_clip
from optgrad.transforms._clipping import unitwise_norm as unitwise_norm
from optgrad.transforms._combining import MultiTransformState as MultiTransformState
from optgrad.transforms._combining import PartitionState as PartitionState
from optgrad.transforms._combining import chain as chain
from optgrad.transforms._combining import multi_transform as multi_transform
from optgrad.transforms._combining import named_chain as named_chain
from optgrad.transforms._combining import partition as partition
from optgrad.transforms._conditionality import ApplyIfFiniteState as ApplyIfFiniteState
from optgrad.transforms._conditionality import (
    ConditionallyMaskState as ConditionallyMaskState,
)
from optgrad.transforms._conditionality import (
    ConditionallyTransformState as ConditionallyTransformState,
)
from optgrad.transforms._conditionality import ConditionFn as ConditionFn
from optgrad.transforms._conditionality import apply_if_finite as apply_if_finite
from optgrad.transforms._conditionality import conditionally_mask as conditionally_mask
from optgrad.transforms._conditionality import (
    conditionally_transform as conditionally_transform,
)
from optgrad.transforms._constraints import (
    NonNegativeParamsState as NonNegativeParamsState,
)
from optgrad.transforms._constraints import ZeroNansState as ZeroNansState
from optgrad.transforms._constraints import (
    keep_params_nonnegative as keep_params_nonnegative,
)
from optgrad.transforms._constraints import zero_nans as zero_nans
from optgrad.transforms._dog import (
    ScaleByDistanceOverGradientsState as ScaleByDistanceOverGradientsState,
)
from optgrad.transforms._dog import (
    scale_by_distance_over_gradients as scale_by_distance_over_gradients,
)
from optgrad.transforms._factored import FactoredState as FactoredState
from optgrad.transforms._factored import ScaleBySM3State as ScaleBySM3State
from optgrad.transforms._factored import scale_by_factored_rms as scale_by_factored_rms
from optgrad.transforms._factored import scale_by_sm3 as scale_by_sm3
from optgrad.transforms._freezing import freeze as freeze
from optgrad.transforms._freezing import selective_transform as selective_transform
from optgrad.transforms._layerwise import (
    ScaleByTrustRatioState as ScaleByTrustRatioState,
)
from optgrad.transforms._layerwise import (
    scale_by_param_block_norm as scale_by_param_block_norm,
)
from optgrad.transforms._layerwise import (
    scale_by_param_block_rms as scale_by_param_block_rms,
)
from optgrad.transforms._layerwise import scale_by_trust_ratio as scale_by_trust_ratio
from optgrad.transforms._layouts import flatten as flatten
from optgrad.transforms._lion import ScaleByLionState as ScaleByLionState
from optgrad.transforms._lion import scale_by_lion as scale_by_lion
from optgrad.transforms._lookahead import LookaheadParams as LookaheadParams
from optgrad.transforms._lookahead import LookaheadState as LookaheadState
from optgrad.transforms._lookahead import lookahead as lookahead
from optgrad.transforms._masking import MaskedNode as MaskedNode
from optgrad.transforms._masking import MaskedState as MaskedState
from optgrad.transforms._masking import is_mask_fn as is_mask_fn
from optgrad.transforms._masking import masked as masked
from optgrad.transforms._momentum import EmaState as EmaState
from optgrad.transforms._momentum import TraceState as TraceState
from optgrad.transforms._momentum import ema as ema
from optgrad.transforms._momentum import trace as trace
from optgrad.transforms._monitoring import MonitorState as MonitorState
from optgrad.transforms._monitoring import SnapshotState as SnapshotState
from optgrad.transforms._monitoring import TrackNormsState as TrackNormsState
from optgrad.transforms._monitoring import measure_with_ema as measure_with_ema
from optgrad.transforms._monitoring import monitor as monitor
from optgrad.transforms._monitoring import snapshot as snapshot
from optgrad.transforms._monitoring import track_norms as track_norms
from optgrad.transforms._noise import AddNoiseState as AddNoiseState
from optgrad.transforms._noise import add_noise as add_noise
from optgrad.transforms._normalizing import centralize as centralize
from optgrad.transforms._normalizing import (
    normalize_by_update_norm as normalize_by_update_norm,
)
from optgrad.transforms._novograd import ScaleByNovogradState as ScaleByNovogradState
from optgrad.transforms._novograd import scale_by_novograd as scale_by_novograd
from optgrad.transforms._optimistic import (
    ScaleByOptimisticGradientState as ScaleByOptimisticGradientState,
)
from optgrad.transforms._optimistic import (
    scale_by_optimistic_gradient as scale_by_optimistic_gradient,
)
from optgrad.transforms._per_example import (
    per_example_global_norm_clip as per_example_global_norm_clip,
)
from optgrad.transforms._per_example import (
    per_example_layer_norm_clip as per_example_layer_norm_clip,
)
from optgrad.transforms._plateau import ReduceLROnPlateauState as ReduceLROnPlateauState
from optgrad.transforms._plateau import reduce_on_plateau as reduce_on_plateau
from optgrad.transforms._polyak import scale_by_polyak as scale_by_polyak
from optgrad.transforms._rms import ScaleByAdaDeltaState as ScaleByAdaDeltaState
from optgrad.transforms._rms import ScaleByRmsState as ScaleByRmsState
from optgrad.transforms._rms import ScaleByRmsWithCountState as ScaleByRmsWithCountState
from optgrad.transforms._rms import ScaleByRssState as ScaleByRssState
from optgrad.transforms._rms import ScaleByRStdDevState as ScaleByRStdDevState
from optgrad.transforms._rms import (
    ScaleByRStdDevWithCountState as ScaleByRStdDevWithCountState,
)
from optgrad.transforms._rms import scale_by_adadelta as scale_by_adadelta
from optgrad.transforms._rms import scale_by_rms as scale_by_rms
from optgrad.transforms._rms import scale_by_rss as scale_by_rss
from optgrad.transforms._rms import scale_by_stddev as scale_by_stddev
from optgrad.transforms._scaling import ScaleByScheduleState as ScaleByScheduleState
from optgrad.transforms._scaling import ScaleState as ScaleState
from optgrad.transforms._scaling import scale as scale
from optgrad.transforms._scaling import scale_by_learning_rate as scale_by_learning_rate
from optgrad.transforms._scaling import scale_by_schedule as scale_by_schedule
from optgrad.transforms._sign import ScaleByRpropState as ScaleByRpropState
from optgrad.transforms._sign import scale_by_rprop as scale_by_rprop
from optgrad.transforms._sign import scale_by_sign as scale_by_sign
from optgrad.transforms._weight_decay import (
    AddDecayedWeightsState as AddDecayedWeightsState,
)
from optgrad.transforms._weight_decay import WeightDecaySchedule as WeightDecaySchedule
from optgrad.transforms._weight_decay import add_decayed_weights as add_decayed_weights
