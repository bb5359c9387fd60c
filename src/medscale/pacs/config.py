"""PACS settings from the environment (DESIGN.md): URL, credentials, DIMSE peer and our AE.

They may also come from a file named by ``MEDSCALE_PACS_CONFIG``: one ``NAME=value`` per line
with the same names (``export NAME='value'`` lines too, as ``orthanc.sh start`` writes them;
``#`` starts a comment). A variable set in the environment wins over the file. A file that
holds a password must be readable by its owner only (``chmod 600``). Credentials never go on
the command line, where other users of the machine can read them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from medscale.errors import ConfigError

#: Orthanc's DICOMweb root, used when MEDSCALE_PACS_URL names only a server (no path).
DEFAULT_DICOMWEB_ROOT = "/dicom-web"


@dataclass(frozen=True)
class PacsConfig:
    """Where the PACS is and who we are.

    Attributes
    ----------
    url : str
        DICOMweb root (``MEDSCALE_PACS_URL``); a bare ``http://host:port`` gets ``/dicom-web``.
    user, password : str
        HTTP basic credentials (``MEDSCALE_PACS_USER``, ``MEDSCALE_PACS_PASSWORD``); empty: none.
    host, port, called_aet : str, int, str
        DIMSE peer (``MEDSCALE_PACS_HOST``, ``MEDSCALE_PACS_PORT``, ``MEDSCALE_PACS_AET``).
    aet, aet_port : str, int
        Our own AE title and SCP port (``MEDSCALE_AET``, ``MEDSCALE_AET_PORT``).
    retries : int
        Attempts after the first on a transient error (``MEDSCALE_PACS_RETRIES``, 3).
    backoff : float
        First wait in seconds, doubled each retry (``MEDSCALE_PACS_BACKOFF``, 0.5).
    timeout : float
        Network timeout in seconds (``MEDSCALE_PACS_TIMEOUT``, 30).
    """

    url: str = ""
    user: str = ""
    password: str = ""
    host: str = "127.0.0.1"
    port: int = 104
    called_aet: str = "ORTHANC"
    aet: str = "MEDSCALE"
    aet_port: int = 0
    retries: int = 3
    backoff: float = 0.5
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PacsConfig:
        """Read ``MEDSCALE_PACS_*`` / ``MEDSCALE_AET*`` (default: `os.environ`)."""
        env = os.environ if env is None else env
        config_file = env.get("MEDSCALE_PACS_CONFIG", "").strip()
        if config_file:
            env = {**read_config_file(config_file), **env}

        def number(name: str, default: float, kind: type = int) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number") from None

        url = env.get("MEDSCALE_PACS_URL", "").strip().rstrip("/")
        if url and not urlsplit(url).path:
            url += DEFAULT_DICOMWEB_ROOT
        return cls(
            url=url,
            user=env.get("MEDSCALE_PACS_USER", ""),
            password=env.get("MEDSCALE_PACS_PASSWORD", ""),
            host=env.get("MEDSCALE_PACS_HOST", "").strip() or "127.0.0.1",
            port=int(number("MEDSCALE_PACS_PORT", 104)),
            called_aet=env.get("MEDSCALE_PACS_AET", "").strip() or "ORTHANC",
            aet=env.get("MEDSCALE_AET", "").strip() or "MEDSCALE",
            aet_port=int(number("MEDSCALE_AET_PORT", 0)),
            retries=int(number("MEDSCALE_PACS_RETRIES", 3)),
            backoff=float(number("MEDSCALE_PACS_BACKOFF", 0.5, float)),
            timeout=float(number("MEDSCALE_PACS_TIMEOUT", 30.0, float)),
        )

    def require_url(self) -> str:
        """The DICOMweb root, or a `ConfigError` naming the variable to set."""
        if not self.url:
            raise ConfigError("no DICOMweb endpoint: set MEDSCALE_PACS_URL")
        return self.url


#: The names a config file may set (those `PacsConfig.from_env` reads).
CONFIG_NAMES = frozenset(
    {
        "MEDSCALE_PACS_URL",
        "MEDSCALE_PACS_USER",
        "MEDSCALE_PACS_PASSWORD",
        "MEDSCALE_PACS_HOST",
        "MEDSCALE_PACS_PORT",
        "MEDSCALE_PACS_AET",
        "MEDSCALE_AET",
        "MEDSCALE_AET_PORT",
        "MEDSCALE_PACS_RETRIES",
        "MEDSCALE_PACS_BACKOFF",
        "MEDSCALE_PACS_TIMEOUT",
    }
)


def read_config_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``NAME=value`` settings of a PACS config file (see the module notes).

    Raises
    ------
    ConfigError
        The file is missing, a line is not ``NAME=value``, a name is unknown, or the file holds
        a password and others may read it.
    """
    import stat
    from pathlib import Path

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"MEDSCALE_PACS_CONFIG={path}: cannot read it ({err.strerror})") from None
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.removeprefix("export ").partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name:
            raise ConfigError(f"{file}:{number}: expected NAME=value")
        if name not in CONFIG_NAMES:
            raise ConfigError(
                f"{file}:{number}: unknown setting {name!r} "
                f"(known: {', '.join(sorted(CONFIG_NAMES))})"
            )
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[name] = value
    if found.get("MEDSCALE_PACS_PASSWORD") and file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{file} holds a password but others may read it: chmod 600 {file}")
    return found
