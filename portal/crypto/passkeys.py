"""WebAuthn ceremonies (py_webauthn): the options a browser is given, and the checks of
what it sends back.

Threat: a phished or relayed second factor. A passkey signs the portal's origin and
relying-party id (both from ``PORTAL_PUBLIC_URL``) with a server challenge, so a page
on any other origin gets nothing it can use here. User verification is required (a PIN
or biometric on the authenticator, not only a touch), and a signature counter that does
not move forward means a cloned authenticator: refused. Challenges are made here and
kept by the caller, which lets each be used once (domain/passkeys.py).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

CHALLENGE_BYTES = 32
TIMEOUT_MS = 120_000
# What the library raises for a response that does not verify or does not parse.
_INVALID = (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
    InvalidJSONStructure,
    InvalidCBORData,
    ValueError,
    KeyError,
    TypeError,
)


class PasskeyInvalid(Exception):
    """The browser's answer does not verify (wrong origin, relying party, challenge,
    signature or counter, no user verification, or not a WebAuthn answer at all)."""


@dataclass(frozen=True)
class RelyingParty:
    """The portal as WebAuthn sees it: its host name and its origin."""

    id: str
    origin: str
    name: str = "Appointments"

    @classmethod
    def from_public_url(cls, public_url: str) -> RelyingParty:
        parts = urlsplit(public_url)
        return cls(id=parts.hostname or "", origin=f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    public_key: bytes
    sign_count: int


def new_challenge() -> bytes:
    return secrets.token_bytes(CHALLENGE_BYTES)


def registration_options(
    rp: RelyingParty,
    user_handle: bytes,
    username: str,
    display_name: str,
    challenge: bytes,
    existing: list[bytes],
) -> str:
    """The JSON for ``navigator.credentials.create``: a discoverable credential with
    user verification, none of the account's existing ones again."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_handle,
        user_name=username,
        user_display_name=display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
    )
    return options_to_json(options)


def authentication_options(rp: RelyingParty, challenge: bytes, allowed: list[bytes]) -> str:
    """The JSON for ``navigator.credentials.get``. At sign-in ``allowed`` is empty (the
    authenticator offers its passkeys for this site), so the options do not tell who
    has a passkey."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in allowed],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def _parsed(response: str) -> dict[str, Any]:
    try:
        parsed = json.loads(response)
    except ValueError:
        raise PasskeyInvalid from None
    if not isinstance(parsed, dict):
        raise PasskeyInvalid
    return parsed


def challenge_of(response: str) -> bytes:
    """The challenge the browser signed (unverified: only to find the stored one)."""
    try:
        client_data = base64url_to_bytes(_parsed(response)["response"]["clientDataJSON"])
        challenge = base64url_to_bytes(json.loads(client_data)["challenge"])
    except (*_INVALID, AttributeError):
        raise PasskeyInvalid from None
    if len(challenge) != CHALLENGE_BYTES:
        raise PasskeyInvalid
    return challenge


def credential_id_of(response: str) -> bytes:
    """The id of the passkey that answered (unverified: only to find its public key)."""
    try:
        raw = base64url_to_bytes(_parsed(response)["rawId"])
    except (*_INVALID, AttributeError):
        raise PasskeyInvalid from None
    if not raw:
        raise PasskeyInvalid
    return raw


def verify_registration(rp: RelyingParty, response: str, challenge: bytes) -> NewPasskey:
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except _INVALID:
        raise PasskeyInvalid from None
    return NewPasskey(verified.credential_id, verified.credential_public_key, verified.sign_count)


def verify_assertion(
    rp: RelyingParty, response: str, challenge: bytes, public_key: bytes, sign_count: int
) -> int:
    """The authenticator's new signature counter. The library refuses a counter that did
    not grow (unless both are 0: authenticators without a counter)."""
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except _INVALID:
        raise PasskeyInvalid from None
    return int(verified.new_sign_count)
