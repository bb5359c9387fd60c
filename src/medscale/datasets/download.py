"""Download the registered public files, check their SHA-256, store them under a data root.

`fetch` takes group names (``ibsi1``, ``ibsi2``, ``samples``, ``medmnist`` or ``all``) and
gets each file of the group's registry entries from ``$MEDSCALE_DATA_URL`` (a mirror laid out
like the data root: ``<base>/ibsi1/reference_values.csv``) when set, else from its public
upstream (`medscale.datasets.sources`). Files already present with the right SHA-256 are kept.
A cut download is resumed from its ``.part`` file with an HTTP ``Range`` request. A file whose
SHA-256 differs is removed and reported.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from medscale.datasets.checksums import SHA256
from medscale.datasets.sources import upstream
from medscale.errors import ConfigError, DownloadError

URL_VARIABLE = "MEDSCALE_DATA_URL"
DATA_VARIABLE = "MEDSCALE_DATA"
GROUPS: tuple[str, ...] = ("ibsi1", "ibsi2", "samples", "medmnist")
_BLOCK = 1 << 16


def user_cache() -> Path:
    """The per-user data folder: ``~/.cache/medscale/data``."""
    return Path.home() / ".cache" / "medscale" / "data"


def target_root(to: str | Path | None = None) -> Path:
    """Where `fetch` stores files: `to`, else ``$MEDSCALE_DATA``, else `user_cache`."""
    if to is not None:
        return Path(to).expanduser()
    configured = os.environ.get(DATA_VARIABLE)
    return Path(configured).expanduser() if configured else user_cache()


def group_files(names: Iterable[str]) -> dict[str, str]:
    """Registry path -> SHA-256 for the groups `names` (``all`` means every group).

    Raises
    ------
    ConfigError
        An unknown group name.
    """
    chosen: list[str] = []
    for name in names:
        if name == "all":
            chosen.extend(GROUPS)
        elif name in GROUPS:
            chosen.append(name)
        else:
            raise ConfigError(f"unknown data set {name!r}; choose from {', '.join(GROUPS)} or all")
    prefixes = tuple(f"{g}/" for g in dict.fromkeys(chosen))
    return {path: digest for path, digest in sorted(SHA256.items()) if path.startswith(prefixes)}


def file_url(path: str, base_url: str | None) -> str | None:
    """The URL of registry path `path`: under `base_url` when given, else upstream (or None)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{path}"
    source = upstream(path)
    return source.url if source else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Fetched:
    """The outcome for one file: ``present``, ``downloaded``, ``resumed`` or ``mirror-only``."""

    path: str
    status: str
    url: str | None
    bytes: int = 0


def _download(url: str, part: Path, timeout: float) -> str:
    """Write `url` to `part`, resuming from its current size; 'downloaded' or 'resumed'."""
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "medscale"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https only)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the .part is already whole
            return "resumed"
        raise
    with response:
        resumed = offset > 0 and response.status == 206
        with part.open("ab" if resumed else "wb") as handle:
            for block in iter(lambda: response.read(_BLOCK), b""):
                handle.write(block)
    return "resumed" if resumed else "downloaded"


def fetch_file(
    path: str, digest: str, root: Path, url: str | None, *, timeout: float = 60.0
) -> Fetched:
    """Get one registry file into `root`, checked against `digest`.

    Raises
    ------
    DownloadError
        The server cannot be reached or answers an error (the message names the file and the
        URL), or the downloaded bytes have another SHA-256 (the file is removed).
    """
    target = root / path
    if target.is_file() and _sha256(target) == digest:
        return Fetched(path, "present", url, target.stat().st_size)
    if url is None:
        return Fetched(path, "mirror-only", None)
    if not url.startswith(("http://", "https://", "file://")):
        raise DownloadError(f"{path}: unsupported URL {url} (use http:// or https://)")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        status = _download(url, part, timeout)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{path}: {url} answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(
            f"{path}: cannot download {url} ({reason}); check the network or set "
            f"{URL_VARIABLE} to a reachable mirror; run the command again to resume"
        ) from None
    actual = _sha256(part)
    if actual != digest:
        part.unlink()
        raise DownloadError(
            f"{path}: SHA-256 {actual} of the file from {url} differs from the registry's "
            f"{digest}; the file was removed (corrupt download or wrong mirror)"
        )
    part.replace(target)
    return Fetched(path, status, url, target.stat().st_size)


def fetch(
    names: Iterable[str],
    *,
    to: str | Path | None = None,
    base_url: str | None = None,
    progress: Callable[[Fetched], None] | None = None,
    timeout: float = 60.0,
) -> list[Fetched]:
    """Fetch every file of the groups `names` into `target_root(to)`.

    `base_url` defaults to ``$MEDSCALE_DATA_URL``; without it the public upstreams are used and
    the files with no public upstream are returned as ``mirror-only`` (not fetched).
    Stops at the first error (see `fetch_file`); files fetched before it are kept.
    """
    files = group_files(names)
    root = target_root(to)
    base = base_url if base_url is not None else os.environ.get(URL_VARIABLE) or None
    results = []
    for path, digest in files.items():
        result = fetch_file(path, digest, root, file_url(path, base), timeout=timeout)
        if progress is not None:
            progress(result)
        results.append(result)
    return results
