"""How the fixed test vectors in tests/crypto/vectors/ were made (run once; tests only read).

    .venv/bin/python -m tests.crypto.make_vectors          # (re)write the files
    .venv/bin/python -m tests.crypto.make_vectors --check  # confirm they are reproducible

Everything random (keys, ephemeral keys, nonces, salts) comes from SHA-256 of a fixed
label, so the output is deterministic and anyone can rebuild the files byte for byte.
The vectors were made with PyNaCl (libsodium); the JS tests prove tweetnacl and
@noble/hashes read them the same way. Never use these keys for anything real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import nacl.encoding
import nacl.hash
import nacl.pwhash.argon2id
from nacl.public import PrivateKey

from portal.crypto import client_keys
from portal.crypto.envelopes import _seal_with, fingerprint
from portal.crypto.wrapped_keys import _wrap_with, normalise_recovery_key

VECTORS = Path(__file__).resolve().parent / "vectors"


def seed(label: str, size: int = 32) -> bytes:
    return hashlib.sha256(b"intake-portal test vector: " + label.encode()).digest()[:size]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


INVESTIGATOR = PrivateKey(seed("investigator"))
OTHER = PrivateKey(seed("another investigator"))

NOTE = {
    "v": 1,
    "consultation": "c-7f3a9d",
    "kind": "prepared_note",
    "author": "ngo",
    "time": "2025-03-14T09:30:00Z",
    "text": "Hän tarvitsee tulkin. Нужен переводчик. تحتاج إلى مترجم. 🙂\nLine two.",
    "languages": ["fi", "ru", "ar"],
}


def envelope_vectors() -> dict[str, Any]:
    def one(name: str, plaintext: bytes, message: dict[str, Any] | None) -> dict[str, Any]:
        envelope = _seal_with(
            bytes(INVESTIGATOR.public_key),
            plaintext,
            PrivateKey(seed(f"ephemeral {name}")),
            seed(f"nonce {name}", 24),
        )
        row: dict[str, Any] = {"name": name, "plaintext_b64": b64(plaintext)}
        if message is not None:
            row["message"] = message
            row["context"] = {k: message[k] for k in ("v", "consultation", "kind", "author")}
        row["envelope_b64"] = b64(envelope)
        return row

    note = json.dumps(NOTE, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return {
        "format": "note envelope v1: 0x01 || ephemeral_pk[32] || nonce[24] || crypto_box",
        "secret_key_b64": b64(bytes(INVESTIGATOR)),
        "public_key_b64": b64(bytes(INVESTIGATOR.public_key)),
        "fingerprint": fingerprint(bytes(INVESTIGATOR.public_key)),
        "other_secret_key_b64": b64(bytes(OTHER)),
        "other_public_key_b64": b64(bytes(OTHER.public_key)),
        "other_fingerprint": fingerprint(bytes(OTHER.public_key)),
        "vectors": [
            one("json note", note, NOTE),
            one("empty plaintext", b"", None),
            one("all byte values", bytes(range(256)), None),
        ],
    }


RECOVERY_KEY = "MFRG-GZDF-MZTW-Q2LK-NNWG-23TP-OBYX-E43U"  # base32 of b"abcdefghijklmnopqrst"


def wrapped_vectors() -> dict[str, Any]:
    secret = bytes(INVESTIGATOR)

    def one(name: str, passphrase: str, ops: int, mem: int, **extra: str) -> dict[str, Any]:
        wrapped = _wrap_with(
            secret, passphrase, ops, mem, seed(f"salt {name}", 16), seed(f"nonce {name}", 24)
        )
        return {
            "name": name,
            "passphrase": passphrase,
            **extra,
            "opslimit": ops,
            "memlimit_kib": mem,
            "wrapped_b64": b64(wrapped),
        }

    nfc = unicodedata.normalize("NFC", "Päivä ja yö, ἀρχή, Ωmega – 鍵")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    typed = RECOVERY_KEY.lower().replace("-", " ")
    return {
        "format": "wrapped key v1: 0x01 || ops u32be || mem KiB u32be || salt[16] || nonce[24]"
        " || secretbox(sk)",
        "secret_key_b64": b64(secret),
        "public_key_b64": b64(bytes(INVESTIGATOR.public_key)),
        "other_public_key_b64": b64(bytes(OTHER.public_key)),
        "vectors": [
            one("ascii passphrase", "correct horse battery staple", 2, 19456),
            one("unicode passphrase (NFC)", nfc, 2, 19456, passphrase_nfd=nfd),
            one(
                "recovery key",
                normalise_recovery_key(RECOVERY_KEY),
                2,
                19456,
                recovery_key=RECOVERY_KEY,
                recovery_key_as_typed=typed,
            ),
            one("default parameters", "a default strength passphrase", 3, 65536),
        ],
        "recovery_key_normalisation": [
            [RECOVERY_KEY, normalise_recovery_key(RECOVERY_KEY)],
            [typed, normalise_recovery_key(RECOVERY_KEY)],
            [" mfrg-gzdf mzTw\tq2lk-\nnnwg 23tp-obyx-e43u ", normalise_recovery_key(RECOVERY_KEY)],
            ["ab\u00a0cd--ef", "ABCDEF"],
        ],
    }


def client_key_vectors() -> dict[str, Any]:
    def one(name: str, code: str, ops: int, mem: int) -> dict[str, Any]:
        salt = seed(f"client key salt {name}", 16)
        derived = client_keys.derive(code, salt, ops, mem)
        k = nacl.pwhash.argon2id.kdf(32, code.encode(), salt, opslimit=ops, memlimit=mem * 1024)
        return {
            "name": name,
            "code": code,
            "salt_b64": b64(salt),
            "opslimit": ops,
            "memlimit_kib": mem,
            "k_b64": b64(k),
            "verifier_b64": b64(derived.stored.verifier),
            "client_sk_b64": b64(derived.secret_key),
            "client_pk_b64": b64(derived.stored.public_key),
        }

    cookie = "q9bI0mY4rE2wXcT7uLsKfA"  # the shape of a session id (22 URL-safe characters)
    secret = client_keys.derive("12345678901234567890", seed("client key salt default cost", 16),
                                3, 65536).secret_key  # fmt: skip
    nonce = seed("session seal nonce", 24)
    return {
        "format": "client key v1: K = argon2id(UTF-8(NFC(code digits)), salt[16], t, m, p=1,"
        " 32 bytes, v1.3); verifier = BLAKE2b-256(K, person='portal-verify'); client_sk ="
        " BLAKE2b-256(K, person='portal-x25519'); client_pk = X25519(client_sk)",
        "vectors": [
            one("default cost", "12345678901234567890", 3, 65536),
            one("the tests' cost", "00000000000000000000", 1, 1024),
            one("OWASP minimum", "98765432109876543210", 2, 19456),
        ],
        "session_seal": {
            "format": "nonce[24] || secretbox(client_sk, nonce, BLAKE2b-256(UTF-8(cookie),"
            " person='portal-session'))",
            "cookie": cookie,
            "client_sk_b64": b64(secret),
            "nonce_b64": b64(nonce),
            "session_key_b64": b64(
                nacl.hash.blake2b(
                    cookie.encode(),
                    digest_size=32,
                    person=b"portal-session",
                    encoder=nacl.encoding.RawEncoder,
                )
            ),
            "sealed_b64": b64(client_keys._seal_for_session_with(cookie, secret, nonce)),
        },
    }


def render() -> dict[str, str]:
    out = {}
    for name, data in (
        ("envelopes", envelope_vectors()),
        ("wrapped_keys", wrapped_vectors()),
        ("client_key_v1", client_key_vectors()),
    ):
        out[f"{name}.json"] = json.dumps(data, indent=2)  # \u escapes keep NFC/NFD apart + "\n"
    return out


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [n for n, text in files.items() if (VECTORS / n).read_text("utf-8") != text]
        print("stale: " + ", ".join(stale) if stale else "ok: vectors are reproducible")
        return 1 if stale else 0
    VECTORS.mkdir(exist_ok=True)
    for name, text in files.items():
        (VECTORS / name).write_text(text, "utf-8")
        print(f"wrote {VECTORS / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
