"""`medscale datasets fetch` against a real HTTP server on 127.0.0.1 (Range-aware handler)."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from medscale.cli.main import main
from medscale.datasets import download
from medscale.errors import DownloadError

PHANTOM = "ibsi1/digital_phantom/phantom.nii.gz"
MASK = "ibsi1/digital_phantom/mask.nii.gz"


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of ``directory``; honours ``Range: bytes=N-`` with 206; counts requests."""

    ranges: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        path = Path(self.translate_path(self.path))
        wanted = self.headers.get("Range")
        if not wanted or not path.is_file():
            super().do_GET()
            return
        type(self).ranges.append(wanted)
        data = path.read_bytes()
        start = int(wanted.removeprefix("bytes=").split("-")[0])
        if start >= len(data):
            self.send_response(416)
            self.end_headers()
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def mirror(tmp_path: Path, shared_data: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, served folder): a copy of the ibsi1 digital phantom files on 127.0.0.1."""
    served = tmp_path / "served"
    for name in (PHANTOM, MASK):
        (served / name).parent.mkdir(parents=True, exist_ok=True)
        (served / name).write_bytes((shared_data / name).read_bytes())
    _RangeHandler.ranges = []

    def handler(*args: object, **kwargs: object) -> _RangeHandler:
        return _RangeHandler(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_downloads_and_checks(mirror: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = mirror
    root = tmp_path / "data"
    result = download.fetch_file(
        PHANTOM, download.SHA256[PHANTOM], root, download.file_url(PHANTOM, base)
    )
    assert result.status == "downloaded"
    assert _digest(root / PHANTOM) == download.SHA256[PHANTOM]
    assert not (root / (PHANTOM + ".part")).exists()
    again = download.fetch_file(PHANTOM, download.SHA256[PHANTOM], root, "http://127.0.0.1:9/x")
    assert again.status == "present"  # right hash already there: no request at all


def test_resume_from_partial_part_file(mirror: tuple[str, Path], tmp_path: Path) -> None:
    base, served = mirror
    root = tmp_path / "data"
    whole = (served / PHANTOM).read_bytes()
    part = root / (PHANTOM + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(whole[: len(whole) // 3])
    result = download.fetch_file(PHANTOM, download.SHA256[PHANTOM], root, f"{base}/{PHANTOM}")
    assert result.status == "resumed"
    assert _RangeHandler.ranges == [f"bytes={len(whole) // 3}-"]
    assert (root / PHANTOM).read_bytes() == whole and not part.exists()


def test_checksum_mismatch_removes_file(mirror: tuple[str, Path], tmp_path: Path) -> None:
    base, served = mirror
    corrupt = bytearray((served / MASK).read_bytes())
    corrupt[10] ^= 0xFF
    (served / MASK).write_bytes(bytes(corrupt))
    root = tmp_path / "data"
    with pytest.raises(DownloadError, match=r"mask\.nii\.gz: SHA-256 .* removed"):
        download.fetch_file(MASK, download.SHA256[MASK], root, f"{base}/{MASK}")
    assert not (root / MASK).exists() and not (root / (MASK + ".part")).exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_server_names_file_and_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/{PHANTOM}"
    with pytest.raises(DownloadError) as caught:
        download.fetch_file(PHANTOM, download.SHA256[PHANTOM], tmp_path, url, timeout=5)
    assert PHANTOM in str(caught.value) and url in str(caught.value)
    assert "refused" in str(caught.value).lower()


def test_group_files_and_unknown_name() -> None:
    ibsi1 = download.group_files(["ibsi1"])
    assert PHANTOM in ibsi1 and all(p.startswith("ibsi1/") for p in ibsi1)
    assert len(download.group_files(["all"])) == len(download.SHA256)
    with pytest.raises(download.ConfigError, match="unknown data set 'ibsi3'"):
        download.group_files(["ibsi3"])


def test_project_written_files_have_no_upstream() -> None:
    assert download.file_url("ibsi1/reference_values.csv", None) is None
    assert download.file_url(PHANTOM, None).startswith("https://raw.githubusercontent.com/")
    assert download.file_url(PHANTOM, "http://m/data/") == f"http://m/data/{PHANTOM}"


def test_cli_fetch_exit_codes(
    shared_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served = tmp_path / "served"
    for group in ("ibsi1",):
        for path in download.group_files([group]):
            (served / path).parent.mkdir(parents=True, exist_ok=True)
            (served / path).write_bytes((shared_data / path).read_bytes())

    def handler(*args: object, **kwargs: object) -> _RangeHandler:
        return _RangeHandler(*args, directory=str(served), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MEDSCALE_DATA_URL", f"http://127.0.0.1:{server.server_address[1]}")
        out = tmp_path / "fetched"
        assert main(["datasets", "fetch", "ibsi1", "--to", str(out), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["counts"] == {"downloaded": len(download.group_files(["ibsi1"]))}
        assert (
            _digest(out / "ibsi1/reference_values.csv")
            == download.SHA256["ibsi1/reference_values.csv"]
        )
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("MEDSCALE_DATA_URL", f"http://127.0.0.1:{_free_port()}")
    assert main(["datasets", "fetch", "samples", "--to", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "samples/LICENSE.txt: cannot download http://127.0.0.1:" in err[0]
    assert main(["datasets", "fetch", "nope"]) == 1
    assert "unknown data set 'nope'" in capsys.readouterr().err
    assert main(["datasets", "fetch"]) == 2  # usage error: no NAME
