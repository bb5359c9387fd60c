import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from medscale.features.padding import zero_pad
from medscale.features.statistics import linear_percentiles


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.bool_, np.int64, np.float32]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    ),
    st.integers(0, 3),
)
@settings(max_examples=60, deadline=None)
def test_zero_pad_equals_numpy_pad(array, margin):
    padded = zero_pad(array, margin)
    expected = np.pad(array, margin)
    assert padded.dtype == expected.dtype
    np.testing.assert_array_equal(padded, expected)


def test_zero_pad_casts_on_the_way():
    padded = zero_pad(np.array([[True, False]]), 1, dtype=np.float32)
    assert padded.dtype == np.float32 and padded.sum() == 1.0 and padded.shape == (3, 4)


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 300),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    )
)
@settings(max_examples=100, deadline=None)
def test_linear_percentiles_are_numpy_percentiles_bit_for_bit(values):
    percents = (10.0, 25.0, 50.0, 75.0, 90.0)
    np.testing.assert_array_equal(
        linear_percentiles(values, percents), np.percentile(values, list(percents))
    )


def test_linear_percentiles_ibsi_phantom_example():
    # IBSI digital phantom convention: P90 of 1..6 style data interpolates between order stats
    values = np.array([1.0, 1, 1, 4, 4, 4, 6, 6, 6, 6])
    assert linear_percentiles(values, (90.0,))[0] == pytest.approx(np.percentile(values, 90))
