import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import reference_mode, tree_allclose

import optgrad
from optgrad import tree


def _pair():
    x = {"a": jnp.array([1.0, -2.0, 3.0]), "b": (jnp.array(4.0), None)}
    y = {"a": jnp.array([0.5, 0.5, -1.0]), "b": (jnp.array(-2.0), None)}
    return x, y


def test_arithmetic_matches_numpy():
    x, y = _pair()
    np.testing.assert_allclose(tree.add(x, y)["a"], [1.5, -1.5, 2.0])
    np.testing.assert_allclose(tree.sub(x, y)["a"], [0.5, -2.5, 4.0])
    np.testing.assert_allclose(tree.mul(x, y)["b"][0], -8.0)
    np.testing.assert_allclose(tree.div(x, y)["b"][0], -2.0)
    np.testing.assert_allclose(tree.scale(2.0, x)["a"], [2.0, -4.0, 6.0])
    np.testing.assert_allclose(tree.add_scale(x, 2.0, y)["a"], [2.0, -1.0, 1.0])
    assert tree.add(x, y)["b"][1] is None


def test_reductions_match_numpy():
    x, y = _pair()
    np.testing.assert_allclose(tree.vdot(x, y), 0.5 - 1.0 - 3.0 - 8.0)
    np.testing.assert_allclose(tree.sum(x), 6.0)
    np.testing.assert_allclose(tree.max(x), 4.0)
    np.testing.assert_allclose(tree.min(x), -2.0)
    assert tree.size(x) == 4


def test_reductions_of_empty_tree():
    assert float(tree.sum({})) == 0.0
    assert float(tree.norm({})) == 0.0
    assert float(tree.vdot({}, {})) == 0.0
    assert float(tree.max([jnp.zeros((0, 2))])) == -np.inf


@pytest.mark.parametrize("ord", [1, 2, "inf"])
def test_norm_matches_numpy(ord):
    x, _ = _pair()
    flat = np.array([1.0, -2.0, 3.0, 4.0])
    expected = np.linalg.norm(flat, ord=np.inf if ord == "inf" else ord)
    np.testing.assert_allclose(tree.norm(x, ord=ord), expected, rtol=1e-6)


def test_norm_matches_optax():
    x, _ = _pair()
    with reference_mode():
        expected = optax.tree.norm(x)
    np.testing.assert_allclose(tree.norm(x), expected, rtol=1e-6)


def test_norm_float16_large_values():
    x = {"g": jnp.full((100,), 300.0, jnp.float16)}
    np.testing.assert_allclose(tree.norm(x), 3000.0, rtol=1e-3)


@pytest.mark.parametrize("magnitude", [1e20, 1e-25])
def test_norm_float32_extreme_values(magnitude):
    x = {"g": jnp.full((4,), magnitude, jnp.float32), "h": jnp.zeros(3)}
    np.testing.assert_allclose(tree.norm(x), 2 * magnitude, rtol=1e-6)
    grad = jax.grad(tree.norm)(x)
    np.testing.assert_allclose(grad["g"], np.full(4, 0.5), rtol=1e-6)


def test_norm_propagates_inf_and_nan():
    assert float(tree.norm(jnp.array([1.0, jnp.inf]))) == np.inf
    assert np.isnan(float(tree.norm(jnp.array([1.0, jnp.nan]))))


def test_norm_gradient_at_zero_is_zero():
    grad = jax.grad(tree.norm)(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))


def test_norm_under_jit_and_vmap():
    x = jnp.array([[3e20, 4e20], [3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        jax.jit(jax.vmap(tree.norm))(x), [5e20, 5.0, 0.0], rtol=1e-6
    )


def test_norm_rejects_bad_order():
    with pytest.raises(ValueError, match="ord"):
        tree.norm({"a": jnp.ones(2)}, ord=3)


def test_moments_match_optax():
    g = {"a": jnp.array([1.0, -2.0]), "c": jnp.array([1 + 1j, 2 - 1j], jnp.complex64)}
    m = {"a": jnp.array([0.5, 0.5]), "c": jnp.zeros(2, jnp.complex64)}
    with reference_mode():
        expected_first = optax.tree.update_moment(g, m, 0.9, 1)
        expected_norm = optax.tree.update_moment_per_elem_norm(g, m, 0.99, 2)
        expected_inf = optax.tree.update_infinity_moment(g["a"], m["a"], 0.9, 1e-8)
        expected_bc = optax.tree.bias_correction(m, 0.9, jnp.asarray(3))
    tree_allclose(tree.update_moment(g, m, 0.9, 1), expected_first)
    tree_allclose(tree.update_moment_per_elem_norm(g, m, 0.99, 2), expected_norm)
    tree_allclose(tree.update_infinity_moment(g["a"], m["a"], 0.9, 1e-8), expected_inf)
    tree_allclose(tree.bias_correction(m, 0.9, jnp.asarray(3)), expected_bc)


def test_moment_of_bfloat16_decays_in_float32():
    g = jnp.ones(2, jnp.bfloat16)
    m = jnp.zeros(2, jnp.bfloat16)
    # 1 - 0.999 is exactly 0 in bfloat16, which would keep the moment at 0.
    out = tree.update_moment(g, m, 0.999, 2)
    assert out.dtype == jnp.bfloat16
    assert float(out[0]) > 0


def test_cast_and_zeros_like():
    x, _ = _pair()
    cast = tree.cast(x, jnp.bfloat16)
    assert cast["a"].dtype == jnp.bfloat16
    assert cast["b"][1] is None
    assert tree.cast(x, None) is x
    zeros = tree.zeros_like(x, jnp.float16)
    assert zeros["a"].dtype == jnp.float16
    like = tree.cast_like(cast, x)
    assert like["a"].dtype == jnp.float32


def test_where_selects():
    x, y = _pair()
    np.testing.assert_array_equal(tree.where(True, x, y)["a"], x["a"])
    np.testing.assert_array_equal(tree.where(jnp.array(False), x, y)["a"], y["a"])


def test_map_unzip_keeps_structure():
    x, y = _pair()
    total, difference = tree.map_unzip(lambda a, b: (a + b, a - b), 2, x, y)
    np.testing.assert_allclose(total["a"], [1.5, -1.5, 2.0])
    np.testing.assert_allclose(difference["b"][0], 6.0)
    assert total["b"][1] is None
    empty = tree.map_unzip(lambda a: (a, a), 2, {})
    assert empty == ({}, {})


def test_check_same_shapes_lists_every_bad_leaf():
    ref = {"a": jnp.ones((2, 3)), "b": jnp.ones(4), "c": jnp.ones(1)}
    other = {"a": jnp.ones((3, 2)), "b": jnp.ones(5), "c": jnp.ones(1)}
    with pytest.raises(ValueError) as info:
        tree.check_same_shapes("demo.update", ("updates", ref), ("params", other))
    message = str(info.value)
    assert "demo.update" in message
    assert "2 leaf paths (first: ['a'])" in message
    assert "['b']: updates have shape (4,), params have shape (5,)" in message


def test_check_same_shapes_none_against_array():
    with pytest.raises(ValueError, match=r"\['a'\]: updates have None, params"):
        tree.check_same_shapes(
            "demo", ("updates", {"a": None}), ("params", {"a": jnp.ones(1)})
        )


def test_check_same_shapes_skips_missing_tree():
    tree.check_same_shapes("demo", ("updates", {"a": jnp.ones(1)}), ("params", None))


def test_check_same_shapes_rejects_integer_updates():
    updates = {"w": jnp.ones(3, jnp.int32), "b": jnp.ones(2), "m": jnp.ones(1, bool)}
    params = {"w": jnp.ones(3), "b": jnp.ones(2), "m": jnp.ones(1)}
    with pytest.raises(
        TypeError, match=r"demo.update: updates must be floating"
    ) as info:
        tree.check_same_shapes("demo.update", ("updates", updates), ("params", params))
    message = str(info.value)
    assert "2 leaves are not (first: ['m'])" in message
    assert "['w']: dtype int32" in message
    assert "['m']: dtype bool" in message
    assert "['b']" not in message
    assert "g.astype(p.dtype)" in message


def test_check_same_shapes_rejects_python_numbers():
    with pytest.raises(TypeError, match=r"\['w'\]: Python float") as info:
        tree.check_same_shapes("demo.update", ("updates", {"w": 0.5, "b": None}))
    assert "1 leaf is a Python number" in str(info.value)
    assert "jnp.asarray" in str(info.value)


def test_check_same_shapes_accepts_inexact_updates():
    updates = {
        "a": jnp.ones(2, jnp.bfloat16),
        "c": jnp.ones(2, jnp.complex64),
        "n": np.ones(2, np.float32),
        "z": None,
    }
    tree.check_same_shapes("demo.update", ("updates", updates), ("params", updates))


def test_check_same_shapes_float_reference_off():
    params = {"w": jnp.arange(3)}
    tree.check_same_shapes(
        "apply_updates", ("params", params), ("updates", params), float_reference=False
    )


@pytest.mark.parametrize(
    ("updates", "params", "only"),
    [
        ({}, {"w": jnp.ones(3)}, "leaves only in params: ['w']"),
        ({"w": jnp.ones(3), "b": jnp.ones(2)}, {"w": jnp.ones(3)}, "only in updates"),
    ],
)
def test_structure_hint_fits_either_side(updates, params, only):
    with pytest.raises(ValueError) as info:
        tree.check_same_shapes("demo.update", ("updates", updates), ("params", params))
    message = str(info.value)
    assert only in message
    assert "Pass updates and params with the same structure." in message
    assert "with the structure of" not in message


def test_dtype_helpers_are_canonical():
    # jax_enable_x64 is off in the test suite, so float64 stands for float32.
    assert tree.compute_dtype(np.float64) == jnp.float32
    assert tree.compute_dtype(jnp.bfloat16) == jnp.float32
    assert tree.moment_dtype(np.float64) == jnp.float32
    assert tree.moment_dtype(jnp.float32, np.complex128) == jnp.complex64
    moments = tree.moment_zeros_like({"w": np.ones(3), "s": 1.0})
    assert moments["w"].dtype == jnp.float32
    assert moments["s"].dtype == jnp.float32
    stacked = tree.stacked_zeros_like({"w": np.ones(3)}, 2)
    assert stacked["w"].dtype == jnp.float32
    assert stacked["w"].shape == (2, 3)


def test_check_float_params_names_leaf():
    params = {"w": jnp.ones(2), "step": jnp.array(3), "flag": jnp.array(True)}
    with pytest.raises(TypeError, match=r"\['flag'\]: dtype bool") as info:
        tree.check_float_params("adam.init", params)
    assert "['step']: dtype int32" in str(info.value)
    tree.check_float_params("adam.init", {"w": jnp.ones(2), "z": None})


def test_safe_increment_saturates():
    top = jnp.iinfo(jnp.int32).max
    assert int(optgrad.safe_int32_increment(jnp.asarray(top, jnp.int32))) == top
    assert int(optgrad.safe_increment(jnp.asarray(3, jnp.int32))) == 4
    with pytest.raises(TypeError, match="int32"):
        optgrad.safe_int32_increment(jnp.asarray(3.0))


def test_safe_norm_gradient_at_zero():
    grad = jax.grad(lambda x: optgrad.safe_norm(x, 1e-6))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))
    np.testing.assert_allclose(optgrad.safe_norm(jnp.array([3.0, 4.0]), 0.1), 5.0)
    grad = jax.grad(lambda x: optgrad.safe_root_mean_squares(x, 1e-6))(jnp.zeros(3))
    np.testing.assert_array_equal(grad, np.zeros(3))


def test_global_norm_matches_optax():
    x, _ = _pair()
    with reference_mode():
        expected = optax.tree.norm(x)
    np.testing.assert_allclose(optgrad.global_norm(x), expected, rtol=1e-6)
