"""NCMEC's CyberTipline web service, for the demo and the tests: the protocol of
docs/specs/regulatory.md §1, written from the specification and not from TrustDesk's client.

Under `/ispws`: `GET /status`; `POST /submit` (a `<report>`, validated against
`cyber_tipline.xsd`) opens a report and answers its `reportId`; `POST /upload` (multipart `id`
and `file`) adds a file and answers its `fileId` and MD5 `hash`; `POST /fileinfo` (a
`<fileDetails>`, validated) describes an uploaded file; `POST /finish` (form `id`) closes the
report and lists its files (`reportDoneResponse`); `POST /retract` (form `id`) withdraws a
report that is not finished. Every answer is XML with a `responseCode`:

- 2000 no credentials, 3000 wrong credentials (HTTP Basic);
- 4000 a request without what the step needs, 4100 a document that does not validate (the
  description is the validator's message), 4110 a document that is no XML, 4200 an empty file;
- 5001 no such report, 5002 no such file in it, 5101 the report is retracted, 5102 it is finished;
- 1000/1100/1110/1111 when told to fail: `POST /control/fail {"code": 1000, "count": 2}` makes
  the next protocol calls answer that code (a transient failure the client should ride out).

`GET /control/reports/{id}` shows what the sandbox holds of a report. Control routes answer
loopback clients only. State lives in memory behind one lock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import Response
from lxml import etree
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from trustdesk.sandbox.host import loopback_only

FIRST_REPORT_ID = 70_000_001
_HTTP_STATUS = {0: 200, 2000: 401, 3000: 401, 4000: 400, 4100: 400, 4110: 400, 4200: 400, 5001: 404, 5002: 404, 5101: 409, 5102: 409}
_DESCRIPTIONS = {
    0: "Success", 1000: "Server error", 1100: "Report could not be saved", 1110: "File upload failed",
    1111: "File upload failed", 2000: "Authentication required", 3000: "Not authorized", 4000: "Invalid request",
    5001: "Report does not exist", 5002: "File does not exist", 5101: "Report has already been retracted",
    5102: "Report has already been finished",
}


@dataclass
class HeldFile:
    file_id: str
    name: str
    md5: str
    size: int
    details: str | None = None


@dataclass
class HeldReport:
    report_id: int
    xml: str
    state: str = "open"  # open, finished, retracted
    files: dict[str, HeldFile] = field(default_factory=dict)
    submitted_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


class Refusal(Exception):
    def __init__(self, code: int, description: str | None = None) -> None:
        super().__init__(description)
        self.code, self.description = code, description or _DESCRIPTIONS[code]


class TiplineState:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.lock = threading.Lock()
        self.reports: dict[int, HeldReport] = {}
        self.failures: deque[int] = deque()
        self._ids = itertools.count(FIRST_REPORT_ID)
        self.schema = etree.XMLSchema(etree.fromstring(files("trustdesk.ncmec").joinpath("cyber_tipline.xsd").read_bytes()))

    def check(self, document: bytes, root: str) -> etree._Element:
        """The parsed document if it is a valid `<root>`: 4110 if no XML, 4100 with the message if invalid."""
        try:
            tree = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError as exc:
            raise Refusal(4110, f"Malformed XML: {exc}") from exc
        if tree.tag != root:
            raise Refusal(4100, f"Validation failed: expected <{root}>, got <{tree.tag}>")
        with self.lock:
            if not self.schema.validate(tree):
                raise Refusal(4100, "Validation failed: " + "; ".join(f"line {e.line}: {e.message}" for e in self.schema.error_log))
        return tree

    def report(self, raw_id: str | None, *, open_only: bool = True) -> HeldReport:
        """The report named by `raw_id` (under the lock): 5001 if none, 5101/5102 if it is closed."""
        try:
            found = self.reports.get(int(raw_id or ""))
        except ValueError:
            found = None
        if found is None:
            raise Refusal(5001)
        if open_only and found.state == "retracted":
            raise Refusal(5101)
        if open_only and found.state == "finished":
            raise Refusal(5102)
        return found

    def open_report(self, xml: str) -> int:
        with self.lock:
            report_id = next(self._ids)
            self.reports[report_id] = HeldReport(report_id, xml)
            return report_id

    def take_failure(self) -> int | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None


def _xml(root: str, code: int, description: str | None = None, **values: Any) -> Response:
    element = etree.Element(root)
    etree.SubElement(element, "responseCode").text = str(code)
    if root == "reportResponse":
        etree.SubElement(element, "responseDescription").text = description or _DESCRIPTIONS.get(code, "")
    for name, value in values.items():
        if isinstance(value, list):
            holder = etree.SubElement(element, name)
            for item in value:
                etree.SubElement(holder, "fileId").text = item
        elif value is not None:
            etree.SubElement(element, name).text = str(value)
    body = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    return Response(body, _HTTP_STATUS.get(code, 500), media_type="text/xml", headers=_challenge(code))


def _challenge(code: int) -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="CyberTipline"'} if code in (2000, 3000) else {}


class FailIn(BaseModel):
    code: int = Field(ge=1000, le=1111)
    count: int = Field(default=1, ge=1, le=100)


def create_ncmec_app(state: TiplineState) -> FastAPI:
    app = FastAPI(title="TrustDesk NCMEC CyberTipline sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    def authorised(request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            raise Refusal(2000)
        try:
            username, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Refusal(2000) from None
        if not (secrets.compare_digest(username, state.username) and secrets.compare_digest(password, state.password)):
            raise Refusal(3000)
        failure = state.take_failure()
        if failure is not None:
            raise Refusal(failure)

    protocol = [Depends(authorised)]

    @app.exception_handler(Refusal)
    def _refused(_request: Request, exc: Refusal) -> Response:
        return _xml("reportResponse", exc.code, exc.description)

    @app.get("/ispws/status", dependencies=protocol)
    def status() -> Response:
        return _xml("reportResponse", 0, "Server is up")

    @app.post("/ispws/submit", dependencies=protocol)
    async def submit(request: Request) -> Response:
        document = await request.body()
        state.check(document, "report")
        return _xml("reportResponse", 0, reportId=state.open_report(document.decode("utf-8", "replace")))

    @app.post("/ispws/upload", dependencies=protocol)
    async def upload(request: Request) -> Response:
        form = await request.form()
        report_id, sent = form.get("id"), form.get("file")
        if not isinstance(report_id, str) or not isinstance(sent, UploadFile):
            raise Refusal(4000, "Invalid request: upload takes the fields id and file")
        data = await sent.read()
        if not data:
            raise Refusal(4200, "Malformed file: the file is empty")
        with state.lock:
            report = state.report(report_id)
            held = HeldFile(secrets.token_hex(16), sent.filename or "file", hashlib.md5(data).hexdigest(), len(data))  # noqa: S324 - NCMEC's hash
            report.files[held.file_id] = held
        return _xml("reportResponse", 0, reportId=report.report_id, fileId=held.file_id, hash=held.md5)

    @app.post("/ispws/fileinfo", dependencies=protocol)
    async def file_info(request: Request) -> Response:
        document = await request.body()
        tree = state.check(document, "fileDetails")
        with state.lock:
            report = state.report(tree.findtext("reportId"))
            held = report.files.get((tree.findtext("fileId") or "").strip())
            if held is None:
                raise Refusal(5002)
            held.details = document.decode("utf-8", "replace")
        return _xml("reportResponse", 0, reportId=report.report_id)

    @app.post("/ispws/finish", dependencies=protocol)
    async def finish(request: Request) -> Response:
        form = await request.form()
        with state.lock:
            report = state.report(_form_id(form))
            report.state = "finished"
            return _xml("reportDoneResponse", 0, reportId=report.report_id, files=list(report.files))

    @app.post("/ispws/retract", dependencies=protocol)
    async def retract(request: Request) -> Response:
        form = await request.form()
        with state.lock:
            report = state.report(_form_id(form))
            report.state = "retracted"
        return _xml("reportResponse", 0, reportId=report.report_id)

    @app.post("/control/fail", dependencies=[Depends(loopback_only)])
    def fail(spec: FailIn) -> dict[str, Any]:
        with state.lock:
            state.failures.extend([spec.code] * spec.count)
            return {"failing": list(state.failures)}

    @app.get("/control/reports/{report_id}", dependencies=[Depends(loopback_only)])
    def held(report_id: int) -> dict[str, Any]:
        with state.lock:
            found = state.reports.get(report_id)
            if found is None:
                raise HTTPException(404, f"no report {report_id}")
            return {"report_id": found.report_id, "state": found.state, "submitted_at": found.submitted_at, "xml": found.xml,
                    "files": [vars(f) for f in found.files.values()]}

    return app


def _form_id(form: Any) -> str | None:
    value = form.get("id")
    return value if isinstance(value, str) else None


def run_ncmec(host: str, port: int, username: str, password: str) -> None:
    """Serve the sandbox until interrupted."""
    print(f"NCMEC CyberTipline sandbox on http://{host}:{port}/ispws (user {username!r})")
    uvicorn.run(create_ncmec_app(TiplineState(username, password)), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=5)

