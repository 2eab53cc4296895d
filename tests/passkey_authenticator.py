"""A software WebAuthn authenticator for HTTP-level tests: answers the portal's options
the way a browser and a security key would (packed "none" attestation, ES256), and can
be told to lie (another origin or relying party, no user verification, a counter set
back) so that the tests can watch the portal refuse it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ORIGIN = "https://portal.test"
RP_ID = "portal.test"
UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftAuthenticator:
    """One passkey: a P-256 key pair, its credential id and its signature counter."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.count = 0

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    @staticmethod
    def _client_data(kind: str, options: dict[str, Any], origin: str) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": options["challenge"],
                "origin": origin,
                "crossOrigin": False,
            }
        ).encode()

    def create(
        self, options_json: str, *, origin: str = ORIGIN, rp_id: str = RP_ID, verified: bool = True
    ) -> str:
        options = json.loads(options_json)
        client_data = self._client_data("webauthn.create", options, origin)
        flags = UP | AT | (UV if verified else 0)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + struct.pack(">I", self.count)
            + bytes(16)  # AAGUID
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(
        self,
        options_json: str,
        *,
        origin: str = ORIGIN,
        rp_id: str = RP_ID,
        verified: bool = True,
        count: int | None = None,
    ) -> str:
        options = json.loads(options_json)
        client_data = self._client_data("webauthn.get", options, origin)
        if count is None:
            self.count += 1
            count = self.count
        flags = UP | (UV if verified else 0)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count)
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": None,
                },
                "clientExtensionResults": {},
            }
        )
