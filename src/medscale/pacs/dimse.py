"""DIMSE (C-ECHO, C-FIND, C-GET, C-MOVE, C-STORE) through pynetdicom, as a Study Root SCU."""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from medscale.errors import ConfigError, PacsError
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
    """C-ECHO / C-FIND / C-GET / C-MOVE / C-STORE against ``config.host:port`` (AE ``called_aet``).

    Our calling AE title is ``config.aet``. `get_study` retrieves by C-GET (the instances come
    back on the same association, so no inbound port is needed); `move_study` by C-MOVE, to a
    Storage SCP of our own on ``127.0.0.1:config.aet_port`` that runs only during the call (the
    PACS must know ``config.aet`` at that address as a modality).
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

    def _missing(
        self, study_uid: str, out: str | Path, rewrite: Rewrite | None
    ) -> tuple[list[str], list[str], int]:
        """(SOP classes of the study, SOP Instance UIDs not yet in `out`, how many are there)."""
        pairs = self._sop_uids(study_uid)
        missing = [
            sop for sop, _ in pairs if not target_path(out, study_uid, sop, rewrite).exists()
        ]
        return sorted({cls for _, cls in pairs}), missing, len(pairs) - len(missing)

    def get_study(
        self, study_uid: str, out: str | Path, *, rewrite: Rewrite | None = None
    ) -> tuple[int, int]:
        """C-GET every missing instance of a study into `out`; (written, skipped).

        With `rewrite`, each instance is rewritten in memory before it is written.
        """
        from pynetdicom import build_role, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet  # type: ignore[attr-defined]

        model = StudyRootQueryRetrieveInformationModelGet
        classes, missing, skipped = self._missing(study_uid, out, rewrite)
        if not missing:
            return 0, skipped
        classes = classes[:127]
        sink = _Sink(out, study_uid, rewrite)

        def run() -> None:
            with self._association(
                [model, *classes],
                roles=[build_role(c, scp_role=True) for c in classes],
                handlers=[(evt.EVT_C_STORE, sink.on_store)],
            ) as assoc:
                for status, _ in assoc.send_c_get(_study_identifier(study_uid), model):
                    _check(status, f"C-GET of study {study_uid} from {self.peer}", pending_ok=True)

        try:
            self._call(f"C-GET study {study_uid}", run)
        except PacsError:
            sink.raise_errors(f"C-GET of study {study_uid}")  # our write failure is the cause
            raise
        sink.raise_errors(f"C-GET of study {study_uid}")
        log.info("study %s: %d written, %d already present", study_uid, len(sink.written), skipped)
        return len(sink.written), skipped

    def move_study(
        self,
        study_uid: str,
        out: str | Path,
        *,
        rewrite: Rewrite | None = None,
        destination: str | None = None,
    ) -> tuple[int, int]:
        """C-MOVE every missing instance of a study into `out`; (written, skipped).

        Our Storage SCP listens on ``127.0.0.1:config.aet_port`` as ``config.aet`` from after
        the C-FIND until the C-MOVE has answered and the PACS's C-STORE associations have
        ended; it writes each instance as `get_study` does (atomically, skipping files already
        there, rewritten first with `rewrite`). `destination` is the Move Destination AE title
        asked of the PACS (default: ``config.aet``, i.e. ourselves).
        """
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove  # type: ignore[attr-defined]

        if not self.config.aet_port:
            raise ConfigError(
                "C-MOVE needs a port for our own Storage SCP: set MEDSCALE_AET_PORT "
                f"(the port the PACS knows for AE title {self.config.aet!r})"
            )
        model = StudyRootQueryRetrieveInformationModelMove
        classes, missing, skipped = self._missing(study_uid, out, rewrite)
        if not missing:
            return 0, skipped
        target = destination or self.config.aet
        sink = _Sink(out, study_uid, rewrite)
        what = f"C-MOVE of study {study_uid} from {self.peer} to {target!r}"

        def run() -> None:
            with self._association([model]) as assoc:
                for status, _ in assoc.send_c_move(_study_identifier(study_uid), target, model):
                    _check_move(status, what, target, self.config.aet_port)

        server = self._storage_scp(classes, sink)
        try:
            self._call(f"C-MOVE study {study_uid}", run)
            _wait_idle(server, self.config.timeout)
        except PacsError:
            sink.raise_errors(f"C-MOVE of study {study_uid}")  # our write failure is the cause
            raise
        finally:
            server.shutdown()
        sink.raise_errors(f"C-MOVE of study {study_uid}")
        log.info("study %s: %d written, %d already present", study_uid, len(sink.written), skipped)
        return len(sink.written), skipped

    def _storage_scp(self, classes: Sequence[str], sink: _Sink) -> Any:
        """Start (non-blocking) our Storage SCP for `classes` on 127.0.0.1:aet_port."""
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, evt

        ae = AE(ae_title=self.config.aet)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.config.timeout
        for cls in classes:
            ae.add_supported_context(cls, ALL_TRANSFER_SYNTAXES)
        address = ("127.0.0.1", self.config.aet_port)
        try:
            return ae.start_server(
                address, block=False, evt_handlers=[(evt.EVT_C_STORE, sink.on_store)]
            )
        except OSError as err:
            why = "the port is in use" if err.errno == errno.EADDRINUSE else str(err)
            raise PacsError(
                f"cannot start our Storage SCP for C-MOVE on 127.0.0.1:{self.config.aet_port} "
                f"({why}; free it or change MEDSCALE_AET_PORT and the PACS's modality entry)"
            ) from err

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


class _Sink:
    """The C-STORE handler of a retrieval: writes each instance, keeps what failed."""

    def __init__(self, out: str | Path, study_uid: str, rewrite: Rewrite | None) -> None:
        self.out, self.study_uid, self.rewrite = out, study_uid, rewrite
        self.written: list[Path] = []
        self.errors: list[BaseException] = []

    def on_store(self, event: Any) -> int:
        try:
            dataset = event.dataset
            dataset.file_meta = event.file_meta
            if str(dataset.get("StudyInstanceUID", "")) != self.study_uid:
                # our C-MOVE SCP listens to anyone on 127.0.0.1: keep only the study asked for
                log.warning(
                    "refused instance %s of study %s while retrieving study %s",
                    dataset.get("SOPInstanceUID", "?"),
                    dataset.get("StudyInstanceUID", "?"),
                    self.study_uid,
                )
                return 0x0124  # refused: not authorised
            path = store_retrieved(dataset, self.out, self.study_uid, self.rewrite)
            if path is not None:
                self.written.append(path)
            return 0x0000
        except Exception as err:  # noqa: BLE001 - reported after the retrieval
            self.errors.append(err)
            return 0xA700  # out of resources

    def raise_errors(self, what: str) -> None:
        if self.errors:
            raise PacsError(f"{what}: writing failed: {self.errors[0]}")


def _study_identifier(study_uid: str) -> Any:
    """A STUDY-level retrieve identifier (instances already present are not rewritten)."""
    from pydicom import Dataset

    identifier = Dataset()
    identifier.QueryRetrieveLevel = "STUDY"
    identifier.StudyInstanceUID = study_uid
    return identifier


def _wait_idle(server: Any, timeout: float) -> None:
    """Wait until the PACS's C-STORE associations to our SCP have ended (at most `timeout`)."""
    deadline = time.monotonic() + timeout
    while server.active_associations and time.monotonic() < deadline:
        time.sleep(0.02)


def _check_move(status: Any, what: str, target: str, port: int) -> None:
    """`_check` for a C-MOVE answer, naming the likely cause of a destination failure."""
    code = int(status.Status) if status is not None and "Status" in status else None
    hint = (
        f"register AE title {target!r} at 127.0.0.1:{port} on the PACS as a modality, "
        "or check MEDSCALE_AET / MEDSCALE_AET_PORT"
    )
    comment = str(status.get("ErrorComment", "") or "").strip() if code is not None else ""
    comment = f", {comment}" if comment else ""
    if code == 0xA801:
        raise _Refused(f"{what}: move destination {target!r} unknown to the PACS ({hint})")
    if code is not None and 0xC000 <= code <= 0xCFFF:  # Orthanc: unknown or unreachable
        raise _Refused(
            f"{what}: the PACS could not process it (status 0x{code:04X}{comment}); "
            f"is the move destination {target!r} known to it, and can it reach our "
            f"Storage SCP at 127.0.0.1:{port}? ({hint})"
        )
    if code in (0xA701, 0xA702, 0xB000):
        raise _Refused(
            f"{what}: sub-operations failed (status 0x{code:04X}{comment}); could the PACS "
            f"reach our Storage SCP at 127.0.0.1:{port}? ({hint})"
        )
    _check(status, what, pending_ok=True)


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
