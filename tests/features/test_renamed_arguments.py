"""The feature settings are `config` in Python as on the CLI (``--config``) and in run files
(``config:``); the old keyword `settings` still works and warns naming `config`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from medscale import Image, Mask
from medscale.errors import ConfigError, MedscaleDeprecationWarning
from medscale.features import extract
from medscale.features.transformer import RadiomicsTransformer, feature_names
from medscale.io import write_image

STATS = {"families": ["statistics"]}


@pytest.fixture
def roi():
    rng = np.random.default_rng(1)
    image = Image(rng.normal(10.0, 3.0, (6, 10, 10)), spacing=(2.0, 1.0, 1.0))
    inside = np.zeros(image.shape, dtype=bool)
    inside[1:5, 2:8, 2:8] = True
    return image, Mask.like(image, inside)


def test_extract_config_keyword_does_not_warn(roi):
    image, mask = roi
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleDeprecationWarning)
        found = extract(image, mask, config=STATS)
    assert set(found) == set(feature_names(STATS)) and "stat_mean" in found


def test_extract_settings_keyword_is_the_old_spelling(roi):
    image, mask = roi
    with pytest.warns(MedscaleDeprecationWarning, match=r"extract\(settings=...\).*use config="):
        old = extract(image, mask, settings=STATS)
    assert old == extract(image, mask, STATS)
    assert set(old) != set(feature_names())  # the old keyword was used, not the default


def test_extract_both_spellings_is_an_error(roi):
    image, mask = roi
    with pytest.raises(ConfigError, match="config= or its old name settings=, not both"):
        extract(image, mask, config=STATS, settings=STATS)


def test_feature_names_settings_keyword_warns():
    with pytest.warns(MedscaleDeprecationWarning, match="use config="):
        old = feature_names(settings=STATS)
    assert old == feature_names(config=STATS) != feature_names()


def test_transformer_settings_parameter_is_the_old_spelling(roi, tmp_path):
    image, mask = roi
    write_image(image, tmp_path / "image.nii.gz")
    write_image(mask.astype("uint8"), tmp_path / "mask.nii.gz")
    cases = pd.DataFrame(
        {"image": [str(tmp_path / "image.nii.gz")], "mask": [str(tmp_path / "mask.nii.gz")]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", MedscaleDeprecationWarning)
        new = RadiomicsTransformer(config=STATS).fit_transform(cases)
    with pytest.warns(MedscaleDeprecationWarning, match=r"RadiomicsTransformer\(settings=...\)"):
        old = RadiomicsTransformer(settings=STATS).fit_transform(cases)
    pd.testing.assert_frame_equal(pd.DataFrame(old), pd.DataFrame(new))
    assert list(RadiomicsTransformer(settings=STATS).get_params()) == [
        "config",
        "image_column",
        "mask_column",
        "mask_label",
        "settings",
    ]
