"""Step registry and chains: specs, YAML, validation messages, geometry and dtype invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medscale import Image
from medscale.errors import ConfigError
from medscale.params import parse_spec
from medscale.preprocess import STEPS, Chain, gaussian, window

DIRECTION = ((0.0, 0.6, 0.8), (0.0, -0.8, 0.6), (1.0, 0.0, 0.0))  # oblique, orthonormal

PARAMS = {"window": {"preset": "lung"}, "nlmeans": {"search_radius_mm": 1.4}}


def _image(shape: tuple[int, int, int]) -> Image:
    rng = np.random.default_rng(0)
    array = (rng.normal(0, 100, shape) - 200).astype(np.int16)
    return Image(
        array,
        spacing=(2.5, 0.7, 0.6),
        origin=(-3.0, 12.5, 7.0),
        direction=DIRECTION,
        meta={"modality": "CT", "units": "HU"},
    )


@pytest.mark.parametrize("shape", [(1, 24, 20), (8, 24, 20)], ids=["2d", "3d"])
@pytest.mark.parametrize("name", STEPS.names())
def test_every_step_keeps_the_geometry(name: str, shape: tuple[int, int, int]) -> None:
    image = _image(shape)
    out = STEPS.get(name)(image, **PARAMS.get(name, {}))
    assert isinstance(out, Image)
    assert out.origin == image.origin and out.direction == image.direction
    assert out.meta["modality"] == "CT"
    if name == "resample":
        assert out.spacing == (1.0, 1.0, 1.0) or image.is_2d
    else:
        assert out.geometry_equal(image, tol_mm=0)
    assert np.isfinite(out.array.astype(np.float64)).all()
    assert not np.shares_memory(out.array, image.array), f"{name} returned a view of its input"


def test_parse_spec_and_chain_from_specs_equal_direct_calls() -> None:
    assert parse_spec("resample:spacing_mm=2,1,1,interpolator=nearest") == (
        "resample",
        {"spacing_mm": "2,1,1", "interpolator": "nearest"},
    )
    image = _image((4, 16, 16))
    chain = Chain.from_specs(["gaussian:sigma_mm=1.5", "window:preset=lung"])
    expected = window(gaussian(image, sigma_mm=1.5), preset="lung")
    np.testing.assert_array_equal(chain(image).array, expected.array)


def test_chain_from_yaml_in_three_spellings(tmp_path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(
        "steps:\n"
        "  - gaussian: {sigma_mm: 1.5}\n"
        "  - {step: window, level: 40, width: 400}\n"
        "  - zscore\n"
    )
    chain = Chain.from_yaml(path)
    assert chain.names == ["gaussian", "window", "zscore"]
    assert dict(chain.steps[1].params) == {"level": 40.0, "width": 400.0}
    image = _image((4, 16, 16))
    out = chain(image).array
    assert out.mean() == pytest.approx(0, abs=1e-5)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["gausian:sigma_mm=1"], r"unknown preprocessing step 'gausian'; did you mean 'gaussian'"),
        (["gaussian:sigma=1"], r"gaussian: unknown parameter 'sigma'; did you mean 'sigma_mm'"),
        (["median:size=three"], r"median: parameter 'size' must be int"),
        (["median:size=2.5"], r"median: parameter 'size' must be int"),
        (["gaussian:1"], r"gaussian: expected key=value"),
    ],
)
def test_spec_errors_name_step_and_parameter(specs: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Chain.from_specs(specs)


def test_range_errors_surface_when_the_chain_runs() -> None:
    chain = Chain.from_specs(["median:size=4"])
    with pytest.raises(ConfigError, match="median: parameter 'size' must be an odd"):
        chain(_image((2, 8, 8)))


@settings(max_examples=20, deadline=None)
@given(
    arrays(
        st.sampled_from([np.int16, np.float32, np.float64]),
        st.tuples(st.integers(1, 4), st.integers(4, 10), st.integers(4, 10)),
        elements=st.integers(-1000, 1000),
    ),
    st.sampled_from(
        [
            "gaussian",
            "median",
            "unsharp",
            "window",
            "zscore",
            "minmax",
            "percentile",
            "opening",
            "closing",
            "equalize",
        ]
    ),
)
def test_shape_and_dtype_invariants(array: np.ndarray, name: str) -> None:
    image = Image(array, spacing=(2.0, 0.9, 0.9))
    out = STEPS.get(name)(image, **PARAMS.get(name, {}))
    assert out.shape == image.shape
    if name in ("median", "opening", "closing"):
        assert out.dtype == array.dtype  # order statistics keep the dtype
    else:
        assert out.dtype == (np.float64 if array.dtype == np.float64 else np.float32)
    assert np.isfinite(out.array).all()
    if name in ("minmax", "percentile", "equalize"):
        assert out.array.min() >= 0 and out.array.max() <= 1 + 1e-6
    np.testing.assert_array_equal(image.array, array)  # the input is never modified


@pytest.mark.parametrize("name", STEPS.names())
def test_every_step_accepts_a_mask(name: str) -> None:
    from medscale import Mask

    array = np.zeros((6, 16, 16), dtype=bool)
    array[2:4, 4:12, 4:12] = True
    mask = Mask(array, spacing=(2.0, 1.0, 1.0))
    out = STEPS.get(name)(mask, **PARAMS.get(name, {}))
    assert out.shape[1:] == mask.shape[1:] or name == "resample"
    if name in ("median", "erode", "dilate", "opening", "closing", "fill_holes"):
        assert isinstance(out, Mask)  # binary in, binary out


def test_from_config_is_the_old_spelling_of_from_steps() -> None:
    import warnings

    from medscale.errors import MedscaleDeprecationWarning

    steps = [{"minmax": {"out_min": 0.0, "out_max": 1.0}}, "median:size=3"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleDeprecationWarning)
        new = Chain.from_steps(steps)
    with pytest.warns(MedscaleDeprecationWarning, match="Chain.from_config.*use Chain.from_steps"):
        old = Chain.from_config(steps)
    assert old.names == new.names == ["minmax", "median"]
