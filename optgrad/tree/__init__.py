"""Pytree arithmetic, norms, moments and trace-time checks."""

from optgrad.tree._checks import check_float_params as check_float_params
from optgrad.tree._checks import check_same_shapes as check_same_shapes
from optgrad.tree._checks import leaf_path as leaf_path
from optgrad.tree._dtypes import compute_dtype as compute_dtype
from optgrad.tree._dtypes import moment_dtype as moment_dtype
from optgrad.tree._dtypes import promote as promote
from optgrad.tree._dtypes import real_dtype as real_dtype
from optgrad.tree._dtypes import widen as widen
from optgrad.tree._math import abs_sq as abs_sq
from optgrad.tree._math import add as add
from optgrad.tree._math import add_scale as add_scale
from optgrad.tree._math import bias_correction as bias_correction
from optgrad.tree._math import cast as cast
from optgrad.tree._math import cast_like as cast_like
from optgrad.tree._math import clip as clip
from optgrad.tree._math import conj as conj
from optgrad.tree._math import div as div
from optgrad.tree._math import full_like as full_like
from optgrad.tree._math import map_unzip as map_unzip
from optgrad.tree._math import max as max
from optgrad.tree._math import min as min
from optgrad.tree._math import moment_zeros_like as moment_zeros_like
from optgrad.tree._math import mul as mul
from optgrad.tree._math import norm as norm
from optgrad.tree._math import ones_like as ones_like
from optgrad.tree._math import real as real
from optgrad.tree._math import safe_sqrt as safe_sqrt
from optgrad.tree._math import scale as scale
from optgrad.tree._math import size as size
from optgrad.tree._math import stacked_zeros_like as stacked_zeros_like
from optgrad.tree._math import sub as sub
from optgrad.tree._math import sum as sum
from optgrad.tree._math import update_infinity_moment as update_infinity_moment
from optgrad.tree._math import update_moment as update_moment
from optgrad.tree._math import (
    update_moment_per_elem_norm as update_moment_per_elem_norm,
)
from optgrad.tree._math import vdot as vdot
from optgrad.tree._math import where as where
from optgrad.tree._math import zeros_like as zeros_like
from optgrad.tree._state import NamedTupleKey as NamedTupleKey
from optgrad.tree._state import get as get
from optgrad.tree._state import get_all_with_path as get_all_with_path
from optgrad.tree._state import set as set
