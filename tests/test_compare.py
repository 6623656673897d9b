import numpy as np
import pytest

from harness.compare import compare_arrays, ulp_distance
from harness.tolerance import DEFAULT_TOLERANCES, Tolerance, default_tolerance, dot_bound, gamma

TOL32 = DEFAULT_TOLERANCES["float32"]


def test_identical_arrays_pass_with_zero_error():
    a = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    c = compare_arrays(a, a.copy(), TOL32)
    assert c.ok and c.max_abs == 0 and c.max_ulp == 0 and c.mismatches == 0


def test_shape_and_dtype_must_match_exactly():
    a = np.zeros((2, 3), np.float32)
    assert "shape mismatch" in compare_arrays(a, np.zeros((3, 2), np.float32), TOL32).reason
    assert "dtype mismatch" in compare_arrays(a, np.zeros((2, 3), np.float64), TOL32).reason


def test_nonfinite_values_must_sit_in_the_same_places():
    a = np.array([1.0, np.nan, np.inf], np.float32)
    assert compare_arrays(a, a.copy(), TOL32).ok
    assert not compare_arrays(a, np.array([1.0, 0.0, np.inf], np.float32), TOL32).ok
    assert not compare_arrays(a, np.array([1.0, np.nan, -np.inf], np.float32), TOL32).ok


def test_records_worst_element_and_ulps():
    a = np.ones((2, 2), np.float32)
    b = a.copy()
    b[1, 0] = np.nextafter(np.float32(1), np.float32(2)) + np.float32(1e-3)
    c = compare_arrays(a, b, TOL32)
    assert not c.ok and c.mismatches == 1 and c.worst_index == (1, 0)
    assert c.theano_value == 1.0 and c.twin_value == pytest.approx(1.001, rel=1e-6)
    assert c.max_ulp == pytest.approx(ulp_distance(b[1:, :1], a[1:, :1], np.float32).max())
    assert "Mismatched elements: 1 / 4" in c.message()


def test_one_ulp_is_one_ulp():
    x = np.float32(3.0)
    assert ulp_distance(np.array([np.nextafter(x, np.float32(4))]), np.array([x]), np.float32)[0] == 1.0


def test_error_bound_widens_tolerance_only_where_declared():
    a = np.array([1.0, 1.0], np.float64)
    b = a + 1e-6
    assert not compare_arrays(a, b, default_tolerance("float64")).ok
    assert compare_arrays(a, b, default_tolerance("float64"), bound=np.array([2e-6, 2e-6])).ok
    assert not compare_arrays(a, b, default_tolerance("float64"), bound=np.array([2e-6, 0.0])).ok


def test_dot_bound_grows_with_length_and_magnitude():
    assert gamma(10, "float32") == pytest.approx(10 * 2**-24 / (1 - 10 * 2**-24))
    small = dot_bound(10, np.array(1.0), "float32")
    assert dot_bound(100, np.array(1.0), "float32") > small
    assert dot_bound(10, np.array(100.0), "float32") == pytest.approx(100 * small)


def test_integer_outputs_compare_exactly():
    assert compare_arrays(np.arange(4), np.arange(4), Tolerance(0, 0)).ok
    assert not compare_arrays(np.arange(4), np.arange(4)[::-1].copy(), Tolerance(1, 1)).ok
