"""Shared test helpers: tolerances, tree comparison and reference mode."""

import contextlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np

# Default tolerances per dtype: (rtol, atol).
TOLERANCES = {
    np.dtype(jnp.bfloat16): (2e-2, 2e-2),
    np.dtype(np.float16): (2e-3, 2e-3),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float64): (1e-12, 1e-14),
    np.dtype(np.complex64): (1e-5, 1e-6),
    np.dtype(np.complex128): (1e-12, 1e-14),
}


def tree_allclose(actual, expected, *, rtol=None, atol=None, equal_nan=False):
    """Assert that two pytrees have one structure and close leaves.

    Tolerances default to the entry of ``TOLERANCES`` for each expected
    leaf's dtype. The failure message names the leaf path.
    """
    actual_def = jax.tree.structure(actual)
    expected_def = jax.tree.structure(expected)
    assert actual_def == expected_def, (
        f"structures differ:\n{actual_def}\n{expected_def}"
    )
    flat_actual = jax.tree_util.tree_flatten_with_path(actual)[0]
    flat_expected = jax.tree.leaves(expected)
    for (path, a), e in zip(flat_actual, flat_expected, strict=True):
        a, e = np.asarray(a), np.asarray(e)
        default_rtol, default_atol = TOLERANCES.get(e.dtype, (1e-6, 1e-6))
        np.testing.assert_allclose(
            a.astype(np.float64) if a.dtype == jnp.bfloat16 else a,
            e.astype(np.float64) if e.dtype == jnp.bfloat16 else e,
            rtol=default_rtol if rtol is None else rtol,
            atol=default_atol if atol is None else atol,
            equal_nan=equal_nan,
            err_msg=f"at leaf {jax.tree_util.keystr(path)}",
        )


def tree_equal(actual, expected):
    """Assert that two pytrees are equal in structure, dtype and every bit."""
    assert jax.tree.structure(actual) == jax.tree.structure(expected)
    flat_actual = jax.tree_util.tree_flatten_with_path(actual)[0]
    for (path, a), e in zip(flat_actual, jax.tree.leaves(expected), strict=True):
        a, e = np.asarray(a), np.asarray(e)
        where = jax.tree_util.keystr(path)
        assert a.dtype == e.dtype, f"dtype differs at {where}: {a.dtype} vs {e.dtype}"
        assert a.shape == e.shape, f"shape differs at {where}: {a.shape} vs {e.shape}"
        np.testing.assert_array_equal(a, e, err_msg=f"at leaf {where}")


@contextlib.contextmanager
def reference_mode():
    """Standard promotion rules, for running optax as a reference."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


# ---------------------------------------------------------------------------
# The optimizer catalogue: every named optimizer with a few hyperparameter
# sets. Contract and parity tests run over all of it.


class Case:
    """One optimizer configuration of the catalogue.

    Attributes:
        name: The factory name, the same in optgrad and optax.
        kwargs: Keyword arguments for both factories.
        extra_args: Keyword arguments that ``update`` needs, as a function of
            the params and gradients (for ``polyak_sgd``, the loss value).
        converge_steps: Steps allowed on the quadratic.
        parity_rtol: Trajectory tolerance against optax, relative to each
            leaf's largest magnitude.
    """

    def __init__(
        self,
        name,
        kwargs,
        *,
        extra_args=None,
        converge_steps=300,
        parity_rtol=2e-4,
    ):
        self.name = name
        self.kwargs = kwargs
        self.extra_args = extra_args
        self.converge_steps = converge_steps
        self.parity_rtol = parity_rtol

    def build(self, library):
        return getattr(library, self.name)(**self.kwargs)

    def __repr__(self):
        args = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"


class MatricesOnly:
    """A weight-decay mask function that selects leaves of two or more dims.

    A class rather than a lambda, so that test ids stay the same across runs.
    """

    def __call__(self, params):
        return jax.tree.map(lambda x: x.ndim > 1, params)

    def __repr__(self):
        return "matrices_only"


class DeprecatedInOptaxCase(Case):
    """A case whose optax factory emits a ``DeprecationWarning`` when called."""

    def build(self, library):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().build(library)


MATRICES_ONLY = MatricesOnly()

OPTIMIZER_CASES = [
    Case("sgd", {"learning_rate": 1e-2}),
    Case("sgd", {"learning_rate": 1e-2, "momentum": 0.9}),
    Case("sgd", {"learning_rate": 1e-2, "momentum": 0.8, "nesterov": True}),
    Case("adam", {"learning_rate": 1e-2}),
    Case("adam", {"learning_rate": 3e-2, "b1": 0.5, "b2": 0.9, "eps": 1e-3}),
    Case("adam", {"learning_rate": 1e-2, "nesterov": True, "eps_root": 1e-8}),
    Case("adamw", {"learning_rate": 1e-2, "weight_decay": 0.1}),
    Case(
        "adamw",
        {
            "learning_rate": 3e-2,
            "b1": 0.8,
            "b2": 0.95,
            "weight_decay": 0.05,
            "mask": MATRICES_ONLY,
        },
    ),
    Case("nadam", {"learning_rate": 1e-2}),
    Case("nadam", {"learning_rate": 3e-2, "b1": 0.8, "eps_root": 1e-8}),
    Case("nadamw", {"learning_rate": 1e-2, "weight_decay": 0.2}),
    Case("nadamw", {"learning_rate": 1e-2, "weight_decay": 0.1, "mask": MATRICES_ONLY}),
    Case("amsgrad", {"learning_rate": 1e-2}),
    Case(
        "amsgrad",
        {
            "learning_rate": 3e-2,
            "bias_correction_mu": False,
            "bias_correction_nu": False,
        },
    ),
    Case("adamax", {"learning_rate": 1e-2}),
    Case("adamax", {"learning_rate": 3e-2, "b1": 0.8, "b2": 0.99}),
    Case("adamaxw", {"learning_rate": 1e-2, "weight_decay": 0.1}),
    Case(
        "adamaxw", {"learning_rate": 1e-2, "weight_decay": 0.2, "mask": MATRICES_ONLY}
    ),
    Case("adan", {"learning_rate": 1e-2}),
    Case(
        "adan",
        {
            "learning_rate": 3e-2,
            "b1": 0.9,
            "b2": 0.8,
            "b3": 0.95,
            "weight_decay": 0.1,
            "mask": MATRICES_ONLY,
        },
    ),
    Case("adabelief", {"learning_rate": 1e-2}),
    Case(
        "adabelief",
        {"learning_rate": 1e-2, "nesterov": True, "eps": 1e-8, "eps_root": 0.0},
    ),
    Case("lion", {"learning_rate": 1e-2}),
    Case(
        "lion",
        {"learning_rate": 1e-2, "b1": 0.8, "weight_decay": 0.3, "mask": MATRICES_ONLY},
    ),
    Case("radam", {"learning_rate": 1e-2}),
    Case("radam", {"learning_rate": 1e-2, "threshold": 4.0, "nesterov": True}),
    Case("yogi", {"learning_rate": 1e-2}),
    Case("yogi", {"learning_rate": 3e-2, "b1": 0.8, "eps": 1e-4}),
    # optax's novograd takes no mask; the mask is tested in test_novograd.py.
    Case("novograd", {"learning_rate": 1e-2}),
    Case(
        "novograd",
        {"learning_rate": 3e-2, "b1": 0.8, "b2": 0.5, "weight_decay": 0.05},
    ),
    Case("noisy_sgd", {"learning_rate": 1e-2, "key": 0}),
    Case("noisy_sgd", {"learning_rate": 1e-2, "eta": 0.1, "gamma": 1.0, "key": 42}),
    DeprecatedInOptaxCase("optimistic_adam", {"learning_rate": 1e-2}),
    DeprecatedInOptaxCase(
        "optimistic_adam", {"learning_rate": 1e-2, "optimism": 0.05, "nesterov": False}
    ),
    Case("optimistic_adam_v2", {"learning_rate": 1e-2}),
    Case(
        "optimistic_adam_v2",
        {"learning_rate": 1e-2, "alpha": 1.0, "beta": 0.5, "b1": 0.8},
    ),
    Case("lbfgs", {"learning_rate": 0.1, "linesearch": None}),
    Case("lbfgs", {"learning_rate": 0.05, "memory_size": 3, "linesearch": None}),
]


def case_id(case):
    return repr(case)


def run_transform(tx, params, grads_sequence):
    """Apply ``tx`` to each gradient tree in turn with one jitted ``update``.

    Returns the list of updates and the final state.
    """
    update = jax.jit(tx.update)
    state = tx.init(params)
    outputs = []
    for grads in grads_sequence:
        updates, state = update(grads, state, params)
        outputs.append(updates)
    return outputs, state
