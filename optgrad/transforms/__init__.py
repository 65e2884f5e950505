"""Gradient transformations: the building blocks that optimizers chain."""

from optgrad.transforms._adam import ScaleByAdamState as ScaleByAdamState
from optgrad.transforms._adam import scale_by_adam as scale_by_adam
from optgrad.transforms._combining import chain as chain
from optgrad.transforms._combining import named_chain as named_chain
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
from optgrad.transforms._masking import MaskedNode as MaskedNode
from optgrad.transforms._masking import MaskedState as MaskedState
from optgrad.transforms._masking import is_mask_fn as is_mask_fn
from optgrad.transforms._masking import masked as masked
from optgrad.transforms._momentum import EmaState as EmaState
from optgrad.transforms._momentum import TraceState as TraceState
from optgrad.transforms._momentum import ema as ema
from optgrad.transforms._momentum import trace as trace
from optgrad.transforms._optimistic import (
    ScaleByOptimisticGradientState as ScaleByOptimisticGradientState,
)
from optgrad.transforms._optimistic import (
    scale_by_optimistic_gradient as scale_by_optimistic_gradient,
)
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
