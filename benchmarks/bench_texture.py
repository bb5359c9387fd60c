"""medscale texture families vs pyradiomics' texture classes, per family, on the sample cases.

Run: ``.venv/bin/python benchmarks/bench_texture.py [DATA_DIR]`` (default ../shared/data).
pyradiomics comes from the peers venv (``PEERS_VENV``, default ~/.cache/medscale-peers/venv);
without it only medscale's times are printed.

Both tools get the same input: image and mask cropped to the mask's bounding box plus one
voxel, original voxels, 3-D, fixed bin size 25. medscale: discretise + ``<family>.compute``
(``dimension="3D"``; also ``("2D", "2.5D")``); pyradiomics: construct the feature class
(binWidth 25) and ``execute()`` every feature of it. Best of 5 after a warm-up, per case.
pyradiomics has no GLDZM; its GLDM is the NGLDM. Results go to benchmarks/results/texture.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
FAMILIES = ("glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm")
PYRADIOMICS = {
    "glcm": "glcm",
    "glrlm": "glrlm",
    "glszm": "glszm",
    "ngtdm": "ngtdm",
    "ngldm": "gldm",
}
REPEATS = 20


def _best(function) -> float:
    function()
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _cropped(data: Path, case: str):
    import numpy as np
    import SimpleITK as sitk

    image = sitk.GetArrayFromImage(sitk.ReadImage(str(data / f"{case}_image.nrrd")))
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(data / f"{case}_label.nrrd"))) == 1
    box = tuple(slice(max(int(i.min()) - 1, 0), int(i.max()) + 2) for i in np.nonzero(mask))
    return image[box].astype(np.float64), mask[box]


def worker_medscale(data: Path) -> dict:
    import importlib
    import warnings

    import numpy as np

    from medscale.errors import MedscaleWarning

    warnings.simplefilter("ignore", MedscaleWarning)
    out: dict = {}
    for case in CASES:
        image, roi = _cropped(data, case)
        low = image[roi].min()
        levels = np.zeros(image.shape, dtype=np.int64)
        levels[roi] = np.floor((image[roi] - low) / 25.0).astype(np.int64) + 1
        n_levels = int(levels.max())
        out[case] = {"voxels": int(roi.sum()), "n_levels": n_levels}
        for family in FAMILIES:
            module = importlib.import_module(f"medscale.features.{family}")
            for dims, tag in ((("3D",), "3D"), (("2D", "2.5D"), "2D+2.5D")):
                out[case][f"{family} {tag}"] = _best(
                    lambda m=module, d=dims, a=levels, r=roi, n=n_levels: m.compute(
                        a, r, n, dimension=d
                    )
                )
    return out


def worker_pyradiomics(data: Path) -> dict:
    import importlib
    import logging

    import SimpleITK as sitk

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    out: dict = {}
    for case in CASES:
        image, roi = _cropped(data, case)
        sitk_image = sitk.GetImageFromArray(image)
        sitk_mask = sitk.GetImageFromArray(roi.astype("uint8"))
        out[case] = {}
        for family, name in PYRADIOMICS.items():
            module = importlib.import_module(f"radiomics.{name}")
            cls = getattr(module, f"Radiomics{name.upper() if name != 'gldm' else 'GLDM'}")

            def run(cls=cls, image=sitk_image, mask=sitk_mask):
                extractor = cls(image, mask, binWidth=25, force2D=False)
                extractor.enableAllFeatures()
                return extractor.execute()

            out[case][f"{family} 3D"] = _best(run)
    return out


def _run_worker(python: str, which: str, data: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    code = (
        f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"import bench_texture as b; from pathlib import Path; "
        f"print(json.dumps(b.worker_{which}(Path({str(data)!r}))))"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[1]
    data = Path(args[0]) if args else root.parent / "shared" / "data"
    data = data / "samples" if (data / "samples").is_dir() else data
    ours = _run_worker(sys.executable, "medscale", data)
    peers = Path(os.environ.get("PEERS_VENV", Path.home() / ".cache/medscale-peers/venv"))
    theirs = {}
    if (peers / "bin" / "python").is_file():
        theirs = _run_worker(str(peers / "bin" / "python"), "pyradiomics", data)
    lines = [
        "# Texture families: medscale vs pyradiomics (ms, best of 20, cropped input)",
        "",
        "| case (voxels, Ng) | family | medscale 3D | medscale 2D+2.5D | pyradiomics 3D | ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for case in CASES:
        row = ours[case]
        for family in FAMILIES:
            mine = row[f"{family} 3D"] * 1000
            peer = theirs.get(case, {}).get(f"{family} 3D")
            peer_text = f"{peer * 1000:.1f}" if peer else "-"
            ratio = f"{peer * 1000 / mine:.1f}x" if peer else "-"
            lines.append(
                f"| {case} ({row['voxels']}, {row['n_levels']}) | {family} | "
                f"{mine:.1f} | {row[f'{family} 2D+2.5D'] * 1000:.1f} | {peer_text} | "
                f"{ratio} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    out = root / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "texture.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
