"""Notices on top of the enforcement world: a local SMTP server (aiosmtpd) that takes or turns
away mail, and the sandbox host as the webhook receiver."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.delivery.conftest import box, receiver  # noqa: F401 - fixtures used here
from tests.enforcement.conftest import World, world  # noqa: F401 - `world` is a fixture used here
from trustdesk.store.models import App


class Mailbox:
    """An aiosmtpd handler keeping what it is sent, or answering every recipient with `refuse`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def use_channel(market: World, channel: str) -> None:
    with market.db.session() as s:
        s.get_one(App, market.app_id).notice_channel = channel
