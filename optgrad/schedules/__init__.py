"""Schedules of a hyperparameter over steps, and hyperparameters in the state."""

from optgrad._typing import Schedule as Schedule
from optgrad.schedules._basic import constant_schedule as constant_schedule
from optgrad.schedules._basic import exponential_decay as exponential_decay
from optgrad.schedules._basic import linear_schedule as linear_schedule
from optgrad.schedules._basic import (
    piecewise_constant_schedule as piecewise_constant_schedule,
)
from optgrad.schedules._basic import polynomial_schedule as polynomial_schedule
from optgrad.schedules._cosine import cosine_decay_schedule as cosine_decay_schedule
from optgrad.schedules._cosine import sgdr_schedule as sgdr_schedule
from optgrad.schedules._cosine import (
    warmup_cosine_decay_schedule as warmup_cosine_decay_schedule,
)
from optgrad.schedules._inject import InjectHyperparamsState as InjectHyperparamsState
from optgrad.schedules._inject import (
    InjectStatefulHyperparamsState as InjectStatefulHyperparamsState,
)
from optgrad.schedules._inject import StatefulSchedule as StatefulSchedule
from optgrad.schedules._inject import WrappedSchedule as WrappedSchedule
from optgrad.schedules._inject import WrappedScheduleState as WrappedScheduleState
from optgrad.schedules._inject import inject_hyperparams as inject_hyperparams
from optgrad.schedules._inject import (
    inject_stateful_hyperparams as inject_stateful_hyperparams,
)
from optgrad.schedules._interpolate import (
    cosine_onecycle_schedule as cosine_onecycle_schedule,
)
from optgrad.schedules._interpolate import (
    linear_onecycle_schedule as linear_onecycle_schedule,
)
from optgrad.schedules._interpolate import (
    piecewise_interpolate_schedule as piecewise_interpolate_schedule,
)
from optgrad.schedules._join import join_schedules as join_schedules
from optgrad.schedules._warmup import (
    warmup_constant_schedule as warmup_constant_schedule,
)
from optgrad.schedules._warmup import (
    warmup_exponential_decay_schedule as warmup_exponential_decay_schedule,
)
