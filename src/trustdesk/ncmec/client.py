"""A client of NCMEC's CyberTipline web service (ISP web services): status → submit → upload →
fileinfo → finish, and retract, with HTTP Basic auth and XML answers carrying a `responseCode`
(0 = success; the codes are in docs/specs/regulatory.md §1).

Transient failures are tried again, after a growing pause, up to `attempts` times: the codes
1000 (server error), 1100 (save failed), 1110 and 1111 (upload failed), a connection that could
not be made, and an HTTP 5xx without an answer to read. A request that was sent but whose answer
never came (a timeout) is tried again only where a repeat changes nothing at NCMEC (status,
fileinfo, finish, retract): a repeated submit or upload would file a second report or file.
Every other code is a refusal, raised at once as `NcmecError` with the code and description.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from lxml import etree

TRANSIENT_CODES = frozenset({1000, 1100, 1110, 1111})
CODES = {
    0: "success", 1000: "server error", 1100: "save failed", 1110: "upload failed", 1111: "upload failed",
    2000: "authentication required", 3000: "not authorised", 3100: "not authorised", 3300: "not authorised",
    4000: "invalid request", 4100: "validation failed", 4110: "malformed XML", 4200: "malformed file",
    5001: "no such report", 5002: "no such file", 5101: "report already retracted", 5102: "report already finished",
}
_REPEATABLE = frozenset({"status", "fileinfo", "finish", "retract"})


class NcmecError(Exception):
    """A step NCMEC refused (`code`), or could not be reached for (`code` None). `maybe_done`:
    the request went out and no answer came back, so NCMEC may have carried it out."""

    def __init__(self, step: str, code: int | None, description: str, *, maybe_done: bool = False) -> None:
        super().__init__(f"{step}: {description}" + (f" (code {code})" if code is not None else ""))
        self.step, self.code, self.description, self.maybe_done = step, code, description, maybe_done


@dataclass(frozen=True)
class Answer:
    """A `reportResponse` or `reportDoneResponse`, whichever the step gives."""

    code: int
    description: str
    report_id: int | None = None
    file_id: str | None = None
    hash: str | None = None
    file_ids: tuple[str, ...] = field(default=())


def parse_answer(body: bytes) -> Answer | None:
    """The answer in `body`; None if it is no response document."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    if root.tag not in ("reportResponse", "reportDoneResponse"):
        return None

    def text(tag: str) -> str | None:
        found = root.find(tag)
        return found.text.strip() if found is not None and found.text else None

    try:
        code = int(text("responseCode") or "")
        report_id = int(text("reportId")) if text("reportId") else None
    except ValueError:
        return None
    return Answer(
        code=code, description=text("responseDescription") or CODES.get(code, "unknown code"), report_id=report_id,
        file_id=text("fileId"), hash=text("hash"),
        file_ids=tuple(f.text.strip() for f in root.findall("files/fileId") if f.text),
    )


class CyberTiplineClient:
    def __init__(
        self, base_url: str, username: str, password: str, *, attempts: int = 4, backoff: float = 0.5,
        timeout: float = 30.0, transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/", auth=(username, password), timeout=timeout, transport=transport)
        self._attempts, self._backoff, self._sleep = attempts, backoff, sleep

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CyberTiplineClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def status(self) -> Answer:
        return self._call("status", "GET")

    def submit(self, report_xml: bytes) -> int:
        """Open a report; its NCMEC `reportId`."""
        answer = self._call("submit", "POST", content=report_xml, headers={"Content-Type": "text/xml; charset=utf-8"})
        if answer.report_id is None:
            raise NcmecError("submit", answer.code, "the answer carries no reportId")
        return answer.report_id

    def upload(self, report_id: int, file_name: str, data: bytes) -> Answer:
        """Add a file to an open report; the answer's `file_id` and `hash` (NCMEC's MD5 of what it got)."""
        answer = self._call("upload", "POST", data={"id": str(report_id)}, files={"file": (file_name, data)})
        if not answer.file_id:
            raise NcmecError("upload", answer.code, "the answer carries no fileId")
        return answer

    def file_info(self, details_xml: bytes) -> Answer:
        return self._call("fileinfo", "POST", content=details_xml, headers={"Content-Type": "text/xml; charset=utf-8"})

    def finish(self, report_id: int) -> Answer:
        """Close the report: NCMEC has it. The answer lists the files it holds."""
        return self._call("finish", "POST", data={"id": str(report_id)})

    def retract(self, report_id: int) -> Answer:
        return self._call("retract", "POST", data={"id": str(report_id)})

    def _call(self, step: str, method: str, **request: Any) -> Answer:
        last: NcmecError | None = None
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request(method, step, **request)
            except httpx.ConnectError as exc:
                last = NcmecError(step, None, f"NCMEC could not be reached: {exc}")
                continue
            except httpx.TransportError as exc:
                last = NcmecError(step, None, f"no answer from NCMEC: {exc.__class__.__name__}", maybe_done=True)
                if step in _REPEATABLE:
                    continue
                raise last from exc
            answer = parse_answer(response.content)
            if answer is None:
                last = NcmecError(step, None, f"HTTP {response.status_code} without a CyberTipline answer")
                if response.status_code >= 500:
                    continue
                raise last
            if answer.code in TRANSIENT_CODES:
                last = NcmecError(step, answer.code, answer.description)
                continue
            if answer.code != 0:
                raise NcmecError(step, answer.code, answer.description)
            return answer
        assert last is not None
        raise last
