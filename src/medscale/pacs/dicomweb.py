"""DICOMweb (QIDO-RS search, WADO-RS retrieve, STOW-RS store) through dicomweb-client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from medscale.errors import PacsError
from medscale.pacs.config import PacsConfig
from medscale.pacs.files import Rewrite, store_retrieved, target_path, with_retries
from medscale.pacs.studies import STUDY_FIELDS, StudyQuery, study_record

log = logging.getLogger(__name__)
T = TypeVar("T")
_STORE_BATCH = 32  # instances per STOW-RS request


def _transient(err: BaseException) -> bool:
    import requests

    if isinstance(err, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return err.response.status_code in (429, 502, 503, 504) or err.response.status_code >= 500
    return False


class DicomWebClient:
    """QIDO-RS / WADO-RS / STOW-RS against ``config.url`` with HTTP basic credentials."""

    def __init__(self, config: PacsConfig) -> None:
        from dicomweb_client.api import DICOMwebClient

        self.config = config
        url = config.require_url()
        session = None
        if config.user:
            from dicomweb_client.session_utils import create_session_from_user_pass

            session = create_session_from_user_pass(config.user, config.password)
        self._client = DICOMwebClient(url, session=session)

    def _explain(self, err: BaseException) -> str:
        import requests

        url = self.config.url
        if isinstance(err, requests.HTTPError) and err.response is not None:
            code = err.response.status_code
            if code in (401, 403):
                return (
                    f"{url} refused the credentials (HTTP {code}); "
                    "check MEDSCALE_PACS_USER / MEDSCALE_PACS_PASSWORD"
                )
            return f"{url} answered HTTP {code} {err.response.reason}"
        if isinstance(err, requests.ConnectionError):
            return f"cannot connect to {url} (is the PACS running?)"
        if isinstance(err, requests.Timeout):
            return f"{url} did not answer within the timeout"
        return f"{type(err).__name__}: {err}"

    def _call(self, what: str, call: Callable[[], T]) -> T:
        return with_retries(
            call,
            what=what,
            retries=self.config.retries,
            backoff=self.config.backoff,
            transient=_transient,
            explain=self._explain,
        )

    def echo(self) -> None:
        """Check that the server answers a QIDO-RS search (limit 1)."""
        self._call("DICOMweb echo", lambda: self._client.search_for_studies(limit=1))

    def find_studies(self, query: StudyQuery) -> list[dict[str, Any]]:
        """QIDO-RS study search; one `STUDY_FIELDS` record per study."""
        from pydicom import Dataset

        found = self._call(
            "QIDO-RS study search",
            lambda: self._client.search_for_studies(
                search_filters=query.keys(), fields=list(STUDY_FIELDS)
            ),
        )
        return [study_record(Dataset.from_json(item)) for item in found]

    def find_instances(self, query: StudyQuery, fields: Sequence[str]) -> list[Any]:
        """QIDO-RS instance search over all studies; one pydicom dataset per instance."""
        from pydicom import Dataset

        keys = query.keys()
        filters = {
            "PatientID": keys.get("PatientID"),
            "Modality": keys.get("ModalitiesInStudy"),
            "StudyDate": keys.get("StudyDate"),
            "StudyInstanceUID": keys.get("StudyInstanceUID"),
        }
        found = self._call(
            "QIDO-RS instance search",
            lambda: self._client.search_for_instances(
                search_filters={k: v for k, v in filters.items() if v},
                fields=list(fields),
                get_remaining=True,
            ),
        )
        return [Dataset.from_json(item) for item in found]

    def wado_url(self, dataset: Any) -> str:
        """The WADO-RS URL of one instance."""
        base = str(self.config.url).rstrip("/")
        return (
            f"{base}/studies/{dataset.StudyInstanceUID}/series/{dataset.SeriesInstanceUID}"
            f"/instances/{dataset.SOPInstanceUID}"
        )

    def list_instances(self, study_uid: str) -> list[tuple[str, str]]:
        """(SeriesInstanceUID, SOPInstanceUID) of every instance of a study; PacsError if none."""
        found = self._call(
            f"QIDO-RS instance search of study {study_uid}",
            lambda: self._client.search_for_instances(
                study_instance_uid=study_uid, fields=["SeriesInstanceUID", "SOPInstanceUID"]
            ),
        )
        pairs = [(item["0020000E"]["Value"][0], item["00080018"]["Value"][0]) for item in found]
        if not pairs:
            raise PacsError(f"study {study_uid} not found on {self.config.url}")
        return pairs

    def get_study(
        self, study_uid: str, out: str | Path, *, rewrite: Rewrite | None = None
    ) -> tuple[int, int]:
        """WADO-RS retrieve every missing instance of a study into `out`; (written, skipped).

        With `rewrite`, each instance is rewritten in memory before it is written.
        """
        pairs = self.list_instances(study_uid)
        written = skipped = 0
        for series_uid, sop_uid in pairs:
            if target_path(out, study_uid, sop_uid, rewrite).exists():
                skipped += 1
                continue
            dataset = self._call(
                f"WADO-RS retrieve of instance {sop_uid}",
                partial(self._client.retrieve_instance, study_uid, series_uid, sop_uid),
            )
            if store_retrieved(dataset, out, study_uid, rewrite) is None:
                skipped += 1
            else:
                written += 1
        log.info("study %s: %d written, %d already present", study_uid, written, skipped)
        return written, skipped

    def put(self, files: Sequence[Path]) -> int:
        """STOW-RS the files in batches; return how many were stored."""
        import pydicom

        stored = 0
        for start in range(0, len(files), _STORE_BATCH):
            batch = [pydicom.dcmread(f) for f in files[start : start + _STORE_BATCH]]
            self._store(batch)
            stored += len(batch)
        return stored

    def _store(self, batch: Iterable[Any]) -> None:
        datasets = list(batch)
        result = self._call("STOW-RS store", lambda: self._client.store_instances(datasets))
        failed = getattr(result, "FailedSOPSequence", None)
        if failed:
            uids = ", ".join(str(item.ReferencedSOPInstanceUID) for item in failed)
            raise PacsError(f"STOW-RS store: {self.config.url} rejected {uids}")
