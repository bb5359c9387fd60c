"""Benchmark: medscale deid vs dicognito on the same PHI-seeded corpus.

For each tool: seeded values that survive (searched in the raw bytes of every output file),
files with a leak, and files per second. dicognito is not a medscale dependency: it runs in
its own virtual environment, by default ``~/.cache/medscale-bench/venv``::

    python3 -m venv ~/.cache/medscale-bench/venv
    ~/.cache/medscale-bench/venv/bin/pip install dicognito

Run (from the repository root)::

    .venv/bin/python benchmarks/bench_deid.py [--copies 2] [--out benchmarks/results/deid.md]

The corpus is the IBSI-1 CT phantom series and its RTSTRUCT (from the shared data folder)
plus pydicom's CT_small, MR_small, JPEG2000 and rtplan test files, with PHI planted by
`medscale.datasets.phi_corpus`, copied ``--copies`` times as distinct patients.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from medscale.datasets.phi_corpus import build_phi_corpus  # noqa: E402
from medscale.deid import check_references, deidentify_tree, verify_tree  # noqa: E402
from medscale.deid.verify import ValueIndex  # noqa: E402

DICOGNITO_SCRIPT = r"""
import sys, time, pathlib, warnings
warnings.simplefilter("ignore")
import pydicom
from dicognito.anonymizer import Anonymizer
source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
files = sorted(p for p in source.rglob("*") if p.is_file())
anonymizer = Anonymizer(seed="medscale-benchmark")
start = time.perf_counter()
for number, path in enumerate(files):
    dataset = pydicom.dcmread(path)
    anonymizer.anonymize(dataset)
    dataset.save_as(target / f"{number:06d}.dcm")
print(len(files), time.perf_counter() - start)
"""


def shared_data() -> Path | None:
    for candidate in (os.environ.get("MEDSCALE_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate, "MANIFEST.md").is_file():
            return Path(candidate)
    return None


def leaks(folder: Path, values: tuple[str, ...]) -> tuple[int, int]:
    """(distinct seeded values found, files with at least one) in every file under folder."""
    index = ValueIndex(v for v in values if len(v) >= 4)
    found: set[str] = set()
    n_files = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        hits = index.search(path.read_bytes())
        found |= hits
        n_files += bool(hits)
    return len(found), n_files


def leaks_plain(folder: Path, values: tuple[str, ...]) -> int:
    """The same count by a plain substring search over printable runs (a cross-check)."""
    wanted = {v.lower() for v in values if len(v) >= 4}
    found: set[str] = set()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        runs = re.findall(rb"[\x20-\x7e]{4,}", path.read_bytes())
        text = "\n".join(run.decode().lower() for run in runs)
        found |= {value for value in wanted if value in text}
    return len(found)


def _scores(out: Path, values: tuple[str, ...]) -> tuple[int, int, int, int, int]:
    """(seeded values left, the plain cross-check, files with a leak, verify findings, links
    kept) of a de-identified folder, in the order of the results table."""
    found, files = leaks(out, values)
    return (
        found,
        leaks_plain(out, values),
        files,
        len(verify_tree(out)),
        check_references(out).n_resolved,
    )


def run_medscale(
    corpus_dir: Path, work: Path, key: bytes, workers: int, repeats: int
) -> tuple[float, Path]:
    work.mkdir(parents=True, exist_ok=True)
    best = float("inf")
    out = work / "none"
    for repeat in range(repeats):
        out = work / f"medscale_w{workers}_{repeat}"
        start = time.perf_counter()
        summary = deidentify_tree(corpus_dir, out, key=key, workers=workers)
        best = min(best, time.perf_counter() - start)
        assert summary.by_status["ok"] == summary.n_files, summary.by_status
    return best, out


def run_dicognito(python: Path, corpus_dir: Path, work: Path, repeats: int) -> tuple[float, Path]:
    work.mkdir(parents=True, exist_ok=True)
    best = float("inf")
    out = work / "none"
    for repeat in range(repeats):
        out = work / f"dicognito_{repeat}"
        out.mkdir()
        result = subprocess.run(
            [str(python), "-c", DICOGNITO_SCRIPT, str(corpus_dir), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        best = min(best, float(result.stdout.split()[1]))
    return best, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="Copies of every source.")
    parser.add_argument("--repeats", type=int, default=3, help="Timed runs (best kept).")
    parser.add_argument(
        "--dicognito-python",
        type=Path,
        default=Path.home() / ".cache/medscale-bench/venv/bin/python",
    )
    parser.add_argument("--out", type=Path, help="Write the results as Markdown here.")
    args = parser.parse_args()

    from pydicom.data import get_testdata_file

    data = shared_data()
    sources = [
        get_testdata_file(name)
        for name in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "rtplan.dcm")
    ]
    if data is not None:
        sources.insert(0, data / "ibsi1" / "ct_phantom" / "dicom")
    key = bytes(range(32))
    with tempfile.TemporaryDirectory(prefix="bench_deid_") as tmp:
        work = Path(tmp)
        corpus = build_phi_corpus(work / "corpus", sources=sources, n_copies=args.copies)
        n_files = len(corpus.files)
        size_mb = sum(p.stat().st_size for p in corpus.files) / 1e6
        rows = []
        input_leaks = leaks(work / "corpus", corpus.seeded_values)
        links_in = check_references(work / "corpus").n_resolved
        for workers in (1, 2):
            seconds, out = run_medscale(work / "corpus", work, key, workers, args.repeats)
            rows.append(
                (
                    f"medscale deid (workers={workers})",
                    *_scores(out, corpus.seeded_values),
                    seconds,
                    n_files / seconds,
                )
            )
        if args.dicognito_python.is_file():
            seconds, out = run_dicognito(args.dicognito_python, work / "corpus", work, args.repeats)
            version = subprocess.run(
                [
                    str(args.dicognito_python),
                    "-c",
                    "import dicognito; print(dicognito.__version__)",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
            rows.append(
                (
                    f"dicognito {version} (1 process)",
                    *_scores(out, corpus.seeded_values),
                    seconds,
                    n_files / seconds,
                )
            )
        else:
            print(
                f"dicognito not found at {args.dicognito_python}; see the module docstring",
                file=sys.stderr,
            )

        plain_rows = []
        plain = work / "plain"
        for number, source in enumerate(sources):
            paths = sorted(Path(source).rglob("*.dcm")) if Path(source).is_dir() else [source]
            for path in paths:
                target = plain / f"{number}" / Path(path).name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        n_plain = sum(1 for p in plain.rglob("*") if p.is_file())
        seconds, _ = run_medscale(plain, work / "plain_out", key, 1, args.repeats)
        plain_rows.append(("medscale deid (workers=1)", seconds, n_plain / seconds))
        if args.dicognito_python.is_file():
            seconds, _ = run_dicognito(
                args.dicognito_python, plain, work / "plain_out", args.repeats
            )
            plain_rows.append((f"dicognito {version} (1 process)", seconds, n_plain / seconds))

    lines = [
        "| tool | seeded values leaked | (plain search) | files with a leak | "
        "profile findings (verify) | links kept | seconds | files/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tool, found, plain, files, findings, links, seconds, rate in rows:
        lines.append(
            f"| {tool} | {found} | {plain} | {files} / {n_files} | {findings} | "
            f"{links} / {links_in} | {seconds:.2f} | {rate:.1f} |"
        )
    header = (
        f"Corpus: {n_files} files ({size_mb:.1f} MB), {len(corpus.seeded_values)} seeded "
        f"values, {corpus.n_planted} Table E.1-1 attributes planted per file; input: "
        f"{input_leaks[0]} seeded values in {input_leaks[1]} files. Best of "
        f"{args.repeats} runs. Machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}."
    )
    lines += [
        "",
        f"Speed on the {n_plain} source files as they are (no PHI planted):",
        "",
        "| tool | seconds | files/s |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {tool} | {seconds:.2f} | {rate:.1f} |" for tool, seconds, rate in plain_rows]
    text = header + "\n\n" + "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
