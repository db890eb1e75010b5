"""Standard Webhooks signatures and the storage of signing secrets.

A secret is `whsec_` + the base64 of 32 random bytes; it is shown once and stored encrypted
(AES-GCM under a key derived from `TRUSTDESK_SECRET_KEY`), because every attempt is signed with
it and a hash could not sign. The signature is `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")),
sent with `webhook-id` and `webhook-timestamp` (Unix seconds).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_PURPOSE = b"webhook-secret"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key_bytes(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{digest}"}


class SecretBox:
    """Encrypts signing secrets at rest with a key derived from the deployment's secret key."""

    def __init__(self, deployment_key: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"trustdesk-webhook-secrets:" + deployment_key.encode()).digest())

    def seal(self, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret_key_bytes(secret), _PURPOSE)

    def open(self, sealed: bytes) -> bytes:
        """The HMAC key, decrypted."""
        return self._aead.decrypt(sealed[:12], sealed[12:], _PURPOSE)
