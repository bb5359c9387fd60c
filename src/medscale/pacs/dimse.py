"""DIMSE (C-ECHO, C-FIND, C-GET, C-STORE) through pynetdicom, as a Study Root SCU."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from medscale.errors import PacsError
from medscale.pacs.config import PacsConfig
from medscale.pacs.files import Rewrite, store_retrieved, target_path, with_retries
from medscale.pacs.studies import STUDY_FIELDS, StudyQuery, study_record

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Transient(PacsError):
    """The association could not be made (no answer): worth another try."""


class _Refused(PacsError):
    """The peer answered and refused: final."""


def _transient(err: BaseException) -> bool:
    return isinstance(err, _Transient)


class DimseClient:
    """C-ECHO / C-FIND / C-GET / C-STORE against ``config.host:port`` (called AE ``called_aet``).

    Our calling AE title is ``config.aet``. C-GET is used for retrieval (the instances come
    back on the same association, so no inbound port is needed).
    """

    def __init__(self, config: PacsConfig) -> None:
        self.config = config
        self.peer = f"{config.called_aet}@{config.host}:{config.port}"

    def _call(self, what: str, call: Callable[[], T]) -> T:
        def run() -> T:
            try:
                return call()
            except _Transient as err:
                raise OSError(str(err)) from err  # retried by with_retries

        return with_retries(
            run,
            what=what,
            retries=self.config.retries,
            backoff=self.config.backoff,
            transient=lambda err: isinstance(err, OSError),
            explain=str,
        )

    @contextmanager
    def _association(
        self,
        contexts: Sequence[Any],
        *,
        roles: Sequence[Any] = (),
        handlers: Sequence[Any] = (),
    ) -> Iterator[Any]:
        import socket

        from pynetdicom import AE

        try:  # a closed port is a transient failure, not a refusal
            socket.create_connection(
                (self.config.host, self.config.port), self.config.timeout
            ).close()
        except OSError as err:
            raise _Transient(
                f"cannot connect to {self.peer} ({err}; is the PACS running?)"
            ) from err
        ae = AE(ae_title=self.config.aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.config.timeout
        for context in contexts:
            ae.add_requested_context(context)
        assoc = ae.associate(
            self.config.host,
            self.config.port,
            ae_title=self.config.called_aet,
            ext_neg=list(roles) or None,
            evt_handlers=list(handlers) or None,
        )
        if assoc.is_rejected:
            raise _Refused(
                f"{self.peer} rejected the association from AE title {self.config.aet!r} "
                "(check MEDSCALE_AET / MEDSCALE_PACS_AET)"
            )
        if assoc.is_aborted:
            raise _Refused(f"{self.peer} aborted the association from {self.config.aet!r}")
        if not assoc.is_established:
            raise _Transient(f"cannot connect to {self.peer} (is the PACS running?)")
        try:
            yield assoc
        except _Transient:
            if assoc.is_aborted:
                raise _Refused(
                    f"{self.peer} aborted the request from AE title {self.config.aet!r} "
                    "(is this AE title allowed on the PACS? check MEDSCALE_AET)"
                ) from None
            raise
        finally:
            if assoc.is_established:
                assoc.release()

    def echo(self) -> None:
        """C-ECHO; PacsError unless the peer answers success."""
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        def run() -> None:
            with self._association([Verification]) as assoc:
                status = assoc.send_c_echo()
                _check(status, f"C-ECHO to {self.peer}")

        self._call("C-ECHO", run)

    def _find(self, identifier: Any, what: str) -> list[Any]:
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # type: ignore[attr-defined]

        model = StudyRootQueryRetrieveInformationModelFind

        def run() -> list[Any]:
            found = []
            with self._association([model]) as assoc:
                for status, answer in assoc.send_c_find(identifier, model):
                    _check(status, f"{what} on {self.peer}", pending_ok=True)
                    if answer is not None and status.Status in (0xFF00, 0xFF01):
                        found.append(answer)
            return found

        return self._call(what, run)

    def find_studies(self, query: StudyQuery) -> list[dict[str, Any]]:
        """C-FIND at STUDY level; one `STUDY_FIELDS` record per study."""
        from pydicom import Dataset

        identifier = Dataset()
        identifier.QueryRetrieveLevel = "STUDY"
        keys = query.keys()
        for name in STUDY_FIELDS:
            setattr(identifier, name, keys.get(name, ""))
        return [study_record(ds) for ds in self._find(identifier, "C-FIND study")]

    def find_instances(self, query: StudyQuery, fields: Sequence[str]) -> list[Any]:
        """C-FIND IMAGE level, study by study; one dataset per instance with `fields` asked."""
        from pydicom import Dataset

        found: list[Any] = []
        for study in self.find_studies(query):
            identifier = Dataset()
            identifier.QueryRetrieveLevel = "IMAGE"
            for name in fields:
                setattr(identifier, name, "")
            identifier.StudyInstanceUID = study["StudyInstanceUID"]
            if query.modality:
                identifier.Modality = query.modality
            uid = study["StudyInstanceUID"]
            found.extend(self._find(identifier, f"C-FIND instances of study {uid}"))
        return found

    def _sop_uids(self, study_uid: str) -> list[tuple[str, str]]:
        """(SOPInstanceUID, SOPClassUID) of every instance of a study (C-FIND IMAGE level)."""
        from pydicom import Dataset

        identifier = Dataset()
        identifier.QueryRetrieveLevel = "IMAGE"
        identifier.StudyInstanceUID = study_uid
        identifier.SeriesInstanceUID = ""
        identifier.SOPInstanceUID = ""
        identifier.SOPClassUID = ""
        found = self._find(identifier, f"C-FIND instances of study {study_uid}")
        pairs = [(str(ds.SOPInstanceUID), str(ds.SOPClassUID)) for ds in found]
        if not pairs:
            raise PacsError(f"study {study_uid} not found on {self.peer}")
        return pairs

    def get_study(
        self, study_uid: str, out: str | Path, *, rewrite: Rewrite | None = None
    ) -> tuple[int, int]:
        """C-GET every missing instance of a study into `out`; (written, skipped).

        With `rewrite`, each instance is rewritten in memory before it is written.
        """
        from pydicom import Dataset
        from pynetdicom import build_role, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]

        model = StudyRootQueryRetrieveInformationModelGet
        pairs = self._sop_uids(study_uid)
        missing = [
            sop for sop, _ in pairs if not target_path(out, study_uid, sop, rewrite).exists()
        ]
        skipped = len(pairs) - len(missing)
        if not missing:
            return 0, skipped
        classes = sorted({cls for _, cls in pairs})[:127]
        written: list[Path] = []
        errors: list[BaseException] = []

        def on_store(event: Any) -> int:
            try:
                dataset = event.dataset
                dataset.file_meta = event.file_meta
                path = store_retrieved(dataset, out, study_uid, rewrite)
                if path is not None:
                    written.append(path)
                return 0x0000
            except Exception as err:  # noqa: BLE001 - reported after the C-GET
                errors.append(err)
                return 0xA700  # out of resources

        identifier = Dataset()
        identifier.QueryRetrieveLevel = "STUDY"  # instances already present are not rewritten
        identifier.StudyInstanceUID = study_uid

        def run() -> None:
            with self._association(
                [model, *classes],
                roles=[build_role(c, scp_role=True) for c in classes],
                handlers=[(evt.EVT_C_STORE, on_store)],
            ) as assoc:
                for status, _ in assoc.send_c_get(identifier, model):
                    _check(status, f"C-GET of study {study_uid} from {self.peer}", pending_ok=True)

        self._call(f"C-GET study {study_uid}", run)
        if errors:
            raise PacsError(f"C-GET of study {study_uid}: writing failed: {errors[0]}")
        log.info("study %s: %d written, %d already present", study_uid, len(written), skipped)
        return len(written), skipped

    def put(self, files: Sequence[Path]) -> int:
        """C-STORE the files (one association); return how many were stored."""
        import pydicom

        datasets = [pydicom.dcmread(f) for f in files]
        classes = sorted({str(ds.SOPClassUID) for ds in datasets})[:128]

        def run() -> int:
            with self._association(classes) as assoc:
                for file, ds in zip(files, datasets, strict=True):
                    status = assoc.send_c_store(ds)
                    _check(status, f"C-STORE of {file} to {self.peer}")
            return len(datasets)

        return self._call("C-STORE", run) if datasets else 0


def _check(status: Any, what: str, *, pending_ok: bool = False) -> None:
    """PacsError unless `status` is success (or pending, when allowed)."""
    if status is None or "Status" not in status:
        raise _Refused(
            f"no answer to {what} (refused or connection lost; "
            "is our AE title allowed on the PACS? check MEDSCALE_AET)"
        )
    code = int(status.Status)
    if code == 0x0000 or (pending_ok and code in (0xFF00, 0xFF01)):
        return
    if code in (0xFE00,):
        raise _Refused(f"{what}: cancelled by the peer")
    if code in (0x0122, 0x0124, 0xA801):
        raise _Refused(f"{what}: refused (status 0x{code:04X}); is AE title allowed?")
    if code == 0xB000:  # sub-operations with failures or warnings
        raise _Refused(f"{what}: some sub-operations failed (status 0xB000)")
    raise _Refused(f"{what}: failed with status 0x{code:04X}")
