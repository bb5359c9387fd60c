"""The corrupt-input sweep: every subcommand that reads an input file, fed three broken files.

``SWEEP`` has one row per invocation; add a row when a new subcommand takes an input file.
In a row's ``args`` the placeholders are ``{input}`` (the corrupt file), ``{folder}`` (a folder
holding only that file) and ``{tmp}`` (an empty scratch folder) and ``{model}`` (a tiny
logistic model folder, trained once per process). ``expect`` is ``"error"`` (exit
1, one short error on stderr, no traceback) or ``"skips"`` for folder commands that record an
unreadable file as a failure and exit 0 by design; ``failed`` then names the file where that
command reports it (relative to ``{tmp}``; ``None`` for stdout).
Used by tests/cli/test_corrupt_inputs.py and benchmarks/bench_cli_corrupt_inputs.py.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Row:
    name: str
    args: tuple[str, ...]
    expect: str = "error"  # "error" or "skips"
    failed: str | None = None  # with "skips": a file under {tmp} that names the failed input
    names: str = "{name}"  # how ``failed`` names it: {name} (file name) or {sha256} (content)
    intact: tuple[str, ...] = ()  # inputs that are sound for this command by design (exit 0)


SWEEP: list[Row] = [
    Row("convert", ("convert", "{input}", "{tmp}/out.nii.gz")),
    Row("extract", ("extract", "{input}", "{input}", "--out", "{tmp}/f.csv")),
    Row("extract --manifest", ("extract", "--manifest", "{input}", "--out", "{tmp}/run")),
    Row("run", ("run", "{input}")),
    Row(
        "preprocess",
        ("preprocess", "{input}", "--step", "median:size=3", "--out", "{tmp}/p.nii.gz"),
    ),
    Row("segment", ("segment", "{input}", "--method", "otsu", "--out", "{tmp}/m.nii.gz")),
    Row("filter", ("filter", "{input}", "--filter", "log:sigma_mm=1", "--out", "{tmp}/f.nii.gz")),
    Row(
        "train",
        ("train", "{input}", "--target", "label", "--model", "logistic", "--out", "{tmp}/m"),
    ),
    # a real tiny model ({model}, trained once per process) applied to the corrupt table
    Row("predict", ("predict", "{model}", "{input}", "--out", "{tmp}/p.csv")),
    Row("evaluate", ("evaluate", "{input}")),
    Row("triage", ("triage", "{input}", "--sensitivity", "0.95", "--out", "{tmp}/w.csv")),
    Row("catalog query", ("catalog", "query", "SELECT 1", "--catalog", "{input}")),
    Row("catalog summary", ("catalog", "summary", "--catalog", "{input}")),
    # verify reads DICOM files only: a truncated one is "unreadable" (exit 1), a non-DICOM file
    # is outside its scope (exit 0); either way the short summary on stderr.
    Row("deid verify", ("deid", "verify", "{folder}"), expect="skips"),
    Row(
        "scan",
        ("scan", "{folder}", "--catalog", "{tmp}/cat.parquet"),
        expect="skips",
        failed="cat_errors.parquet",
        intact=("truncated-jpeg2000",),  # header-only: the file's header is complete
    ),
    Row(
        "deid run",
        ("deid", "run", "{folder}", "{tmp}/out", "--key", "{tmp}/k.key"),
        expect="skips",
        failed="out/deid_audit.csv",
        names="{sha256}",  # the audit never holds input paths (they may carry PHI)
    ),
]


def _truncated_dicom(path: Path) -> None:
    import numpy as np
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName = "CT", "P1", "Doe^J"
    ds.Rows = ds.Columns = 32
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelSpacing, ds.SliceThickness = [1.0, 1.0], 1.0
    ds.ImagePositionPatient, ds.ImageOrientationPatient = [0, 0, 0], [1, 0, 0, 0, 1, 0]
    ds.PixelData = np.arange(32 * 32, dtype=np.int16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1500])  # cut inside the pixel data


def _truncated_jpeg2000(path: Path) -> None:
    """pydicom's JPEG2000.dcm with its codestream cut in half (the case of issue 13)."""
    import pydicom
    from pydicom.encaps import encapsulate, generate_frames

    source = Path(pydicom.__file__).parent / "data" / "test_files" / "JPEG2000.dcm"
    if not source.is_file():
        raise FileNotFoundError(f"{source} is not bundled with this pydicom")
    dataset = pydicom.dcmread(source)
    frame = next(generate_frames(dataset.PixelData, number_of_frames=1))
    dataset.PixelData = encapsulate([frame[: len(frame) // 2]])
    dataset.save_as(path)


def _random_nifti(path: Path) -> None:
    path.write_bytes(random.Random(13).randbytes(4096))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


# input name -> (file name, writer)
INPUTS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "truncated-dicom": ("truncated.dcm", _truncated_dicom),
    "truncated-jpeg2000": ("truncated_j2k.dcm", _truncated_jpeg2000),
    "random-nifti": ("random.nii.gz", _random_nifti),
    "empty-file": ("empty.nii.gz", _empty),
}


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    tmp: Path
    input: Path

    def key(self, row: Row) -> str:
        """How ``row.failed`` names this input."""
        import hashlib

        digest = hashlib.sha256(self.input.read_bytes()).hexdigest()
        return row.names.format(name=self.input.name, sha256=digest)

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


@cache
def _tiny_model() -> Path:
    """A logistic model on a 20-case table, trained once (for the ``{model}`` placeholder)."""
    import tempfile

    from medscale.cli.main import main

    folder = Path(tempfile.mkdtemp(prefix="medscale-sweep-model-"))
    rows = ["case_id,f1,f2,label"]
    rng = random.Random(13)
    rows += [f"c{i},{rng.random():.4f},{rng.random():.4f},{i % 2}" for i in range(20)]
    table = folder / "table.csv"
    table.write_text("\n".join(rows) + "\n")
    args = ["train", str(table), "--target", "label", "--model", "logistic"]
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        code = main([*args, "--out", str(folder / "model")])
    if code != 0:
        raise RuntimeError("could not train the sweep's tiny model")
    return folder / "model"


def invoke(row: Row, input_name: str, base: Path) -> Outcome:
    """Run one row on one corrupt input under ``base`` (created) with the CLI in-process."""
    from medscale.cli.main import main

    folder, tmp = base / "in", base / "tmp"
    folder.mkdir(parents=True)
    tmp.mkdir()
    file_name, write = INPUTS[input_name]
    path = folder / file_name
    write(path)
    if any("--key" in a for a in row.args):
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            main(["deid", "keygen", str(tmp / "k.key")])
    model = _tiny_model() if any("{model}" in a for a in row.args) else ""
    args = [a.format(input=path, folder=folder, tmp=tmp, model=model) for a in row.args]
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(args)
    finally:
        os.chdir(cwd)
    return Outcome(code, out.getvalue(), err.getvalue(), tmp, path)
