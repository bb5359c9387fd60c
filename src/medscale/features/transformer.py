"""`RadiomicsTransformer`: IBSI features of every case of a manifest, as scikit-learn expects.

A manifest is a table with one case per row and the columns ``image`` and ``mask`` (paths; see
DESIGN.md). ``transform`` returns one row of features per case, with the feature ids of
`feature_names` as columns, so that the transformer fits in a `sklearn.pipeline.Pipeline`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from medscale.errors import InputError, MedscaleError, MedscaleWarning, renamed_argument
from medscale.features.extract import extract
from medscale.features.registry import families
from medscale.features.settings import Settings, for_image, load_settings

_DIAGNOSTIC_STAGES = (
    ("init", "img"),
    ("interp", "img"),
    ("init", "roi"),
    ("interp", "roi"),
    ("reseg", "roi"),
)


def _diagnostic_names() -> list[str]:
    names = []
    for stage, kind in _DIAGNOSTIC_STAGES:
        if kind == "img":
            names += [f"img_dim_{a}_{stage}_img" for a in "xyz"]
            names += [f"vox_dim_{a}_{stage}_img" for a in "xyz"]
            names += [f"{m}_int_{stage}_img" for m in ("mean", "min", "max")]
        else:
            names += [f"int_mask_dim_{a}_{stage}_roi" for a in "xyz"]
            names += [f"int_mask_bb_dim_{a}_{stage}_roi" for a in "xyz"]
            names += [f"morph_mask_bb_dim_{a}_{stage}_roi" for a in "xyz"]
            names += [f"int_mask_vox_count_{stage}_roi", f"morph_mask_vox_count_{stage}_roi"]
            names += [f"int_mask_{m}_int_{stage}_roi" for m in ("mean", "min", "max")]
    return names


def feature_names(
    config: Settings | str | dict = "default", *, settings: Settings | str | dict | None = None
) -> list[str]:
    """The feature ids `extract` returns under the feature settings `config` (installed
    families only); `settings` is its deprecated spelling."""
    settings = load_settings(
        renamed_argument(
            config, settings, "default", names=("settings", "config"), where="feature_names"
        )
    )
    names = _diagnostic_names() if settings.diagnostics else []
    for family in families(settings.families):
        names += family.output_names(settings)
    return names


def extract_case(
    image_path: str,
    mask_path: str,
    config: Settings,
    *,
    mask_label: int | None = None,
    roi: str | None = None,
) -> dict[str, float]:
    """Read one case from files and extract its features (errors name the files)."""
    from medscale.io import read_image, read_mask

    image = read_image(image_path)
    mask = read_mask(mask_path, mask_label=mask_label, roi=roi, reference=image)
    try:
        return extract(image, mask, config)
    except MedscaleError as err:
        if str(image_path) in str(err):  # already names the file
            raise
        raise type(err)(f"{image_path} / {mask_path}: {err}") from err


class RadiomicsTransformer(TransformerMixin, BaseEstimator):
    """IBSI radiomics features of the cases of a manifest (scikit-learn transformer).

    Parameters
    ----------
    config : str, dict or Settings
        The feature settings: a preset name (``default``, ``default-2d``, ``ibsi1-dig``,
        ``ibsi1-a`` ... ``ibsi1-e``, ``ibsi2-1a`` ... ``ibsi2-9b``, ``filters-default``), a YAML
        path, a dict, or `Settings`. As in `extract`, ``default`` means ``default-2d``
        for a one-slice image (X-ray): `fit` reads the image headers of the manifest and the
        output columns are those of ``default`` for its volumes, then the 2-D ids that
        ``default-2d`` adds for its one-slice images (NaN where a case has no such feature).
        Other settings fix the columns alone. A case whose features fall outside the columns
        fixed at `fit` (e.g. a one-slice image in `transform` after fitting on volumes only)
        has them dropped with a warning.
    mask_label : int, optional
        Label value of the ROI in the mask files (default: every non-zero voxel).
    image_column, mask_column : str
        Manifest columns holding the image and mask paths.
    settings : str, dict or Settings, optional
        Deprecated spelling of `config` (`fit` warns with a `MedscaleDeprecationWarning`).

    Examples
    --------
    >>> import pandas as pd
    >>> cases = pd.DataFrame({"image": ["a_image.nrrd"], "mask": ["a_label.nrrd"]})
    >>> features = RadiomicsTransformer(config="default").fit_transform(cases)  # doctest: +SKIP
    """

    def __init__(
        self,
        config: Any = "default",
        *,
        mask_label: int | None = None,
        image_column: str = "image",
        mask_column: str = "mask",
        settings: Any = None,
    ) -> None:
        self.config = config
        self.mask_label = mask_label
        self.image_column = image_column
        self.mask_column = mask_column
        self.settings = settings  # the deprecated spelling of `config`, read by `fit`

    def fit(self, X: Any, y: Any = None) -> RadiomicsTransformer:  # noqa: N803 - sklearn API
        """Validate the manifest and the settings, learn the output feature names; return self."""
        self._check_manifest(X)
        self.settings_ = load_settings(
            renamed_argument(
                self.config,
                self.settings,
                "default",
                names=("settings", "config"),
                where="RadiomicsTransformer",
            )
        )
        variants = self._settings_variants(X)
        names = dict.fromkeys(name for variant in variants for name in feature_names(variant))
        self.feature_names_out_ = np.array(list(names), dtype=object)
        self.n_features_out_ = len(self.feature_names_out_)
        return self

    def _settings_variants(self, cases: pd.DataFrame) -> list[Settings]:
        """`settings_` for the volumes of `cases`, its 2-D form for their one-slice images
        (those present, in that order); only `settings_` when it has no 2-D form."""
        flat = for_image(self.settings_, (1, 2, 2))
        if flat is self.settings_ or len(cases) == 0:
            return [self.settings_]
        from medscale.io.formats import image_shape

        one_slice = []
        for index, case in cases.iterrows():
            try:
                one_slice.append(image_shape(str(case[self.image_column]))[0] == 1)
            except MedscaleError as err:
                raise type(err)(f"case {case.get('case_id', index)}: {err}") from err
        variants = [] if all(one_slice) else [self.settings_]
        return [*variants, flat] if any(one_slice) else variants

    def _check_manifest(self, X: Any) -> pd.DataFrame:  # noqa: N803
        if not isinstance(X, pd.DataFrame):
            raise InputError(
                f"X must be a pandas DataFrame with columns {self.image_column!r} "
                f"and {self.mask_column!r}, got {type(X).__name__}"
            )
        missing = [c for c in (self.image_column, self.mask_column) if c not in X.columns]
        if missing:
            raise InputError(f"the manifest lacks column(s) {missing}; it has {list(X.columns)}")
        return X

    def transform(
        self,
        X: Any,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:  # noqa: N803
        """One row of features per manifest row (same index), columns `feature_names_out_`."""
        if not hasattr(self, "feature_names_out_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("RadiomicsTransformer is not fitted yet; call fit first")
        cases = self._check_manifest(X)
        rows = []
        for number, (index, case) in enumerate(cases.iterrows()):
            case_id = case.get("case_id", index)
            try:
                found = extract_case(
                    str(case[self.image_column]),
                    str(case[self.mask_column]),
                    self.settings_,
                    mask_label=self.mask_label,
                )
            except MedscaleError as err:
                raise type(err)(f"case {case_id}: {err}") from err
            extra = set(found) - set(self.feature_names_out_)
            if extra:
                warnings.warn(
                    f"case {case_id}: features outside feature_names_out_ dropped: "
                    f"{sorted(extra)[:5]}",
                    MedscaleWarning,
                    stacklevel=2,
                )
            rows.append([found.get(name, np.nan) for name in self.feature_names_out_])
            if progress is not None:
                progress(number + 1, len(cases))
        return pd.DataFrame(
            rows, index=cases.index, columns=list(self.feature_names_out_), dtype=float
        )

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The feature ids, in column order (numpy array of str)."""
        if not hasattr(self, "feature_names_out_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("RadiomicsTransformer is not fitted yet; call fit first")
        return self.feature_names_out_.copy()
