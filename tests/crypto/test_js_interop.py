"""The real static/js/sealing.js, run in Node, against PyNaCl: both directions.

One Node process (tests/crypto/sealing_driver.mjs) opens the fixed vectors and the
envelopes and wrapped keys Python made, seals and wraps its own for Python to open, and
reports how it refuses tampered and malformed input. Each test below judges one part.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey

from portal.crypto.envelopes import fingerprint, open_envelope, open_json, seal_json
from portal.crypto.wrapped_keys import normalise_recovery_key, unwrap, wrap
from portal.domain.conversation import OVERHEAD, PAD_TO, open_message, padded

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENVELOPES = json.loads((HERE / "vectors" / "envelopes.json").read_text("utf-8"))
WRAPPED = json.loads((HERE / "vectors" / "wrapped_keys.json").read_text("utf-8"))
SK = base64.b64decode(ENVELOPES["secret_key_b64"])
PK = base64.b64decode(ENVELOPES["public_key_b64"])
NODE = shutil.which("node") or ("/usr/bin/node" if Path("/usr/bin/node").exists() else None)

PYTHON_NOTE = {
    "v": 1,
    "consultation": "c-py",
    "kind": "client_note",
    "author": "investigator",
    "time": "2025-03-14T10:00:00Z",
    "text": "Sealed by PyNaCl: ä ö å, العربية, 🙂",
}
JS_MESSAGES: list[dict[str, Any]] = [
    {**PYTHON_NOTE, "consultation": "c-js", "text": "Sealed by tweetnacl: ä, ру, 🙂"},
    {"v": 1, "consultation": "c-js", "kind": "prepared_note", "text": "x" * 100_000},
    {},
]
# Conversation messages (docs/crypto.md, "Messages"): padded to a multiple of 256 bytes.
PADDED_MESSAGES: list[dict[str, Any]] = [
    {
        "v": 1,
        "consultation": "c-js",
        "message": f"m-{size}",
        "author": "client",
        "recipient": "k-1",
        "time": 1_800_000_000,
        "text": "ä 🙂 " * size,
    }
    for size in (0, 1, 30, 31, 32, 1000)
]
PASSPHRASE_NFC = unicodedata.normalize("NFC", "Åsa ja Élodie: ἀρχή")
WRAPPED_TAMPER_INDEXES = [0, 4, 8, 9, 24, 25, 48, 49, 64, 96]
WEAK_PARAMS = [[1, 19456], [2, 19455], [2, 8192], [1, 8192], [1, 1048576]]
# Points of low order (libsodium's list): sealing to them would make the shared key public.
LOW_ORDER_HEX = [
    "00" * 32,
    "01" + "00" * 31,
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ec" + "ff" * 30 + "7f",
    "ed" + "ff" * 30 + "7f",
    "ee" + "ff" * 30 + "7f",
]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def small_with_params(opslimit: int, memlimit_kib: int) -> str:
    data = unb64(WRAPPED["vectors"][0]["wrapped_b64"])
    return b64(data[:1] + struct.pack(">II", opslimit, memlimit_kib) + data[9:])


@pytest.fixture(scope="module")
def js(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if NODE is None:
        pytest.skip("node is not installed: the JS interop tests need Node 20 (apt install nodejs)")
    root = tmp_path_factory.mktemp("sealing-js")
    (root / "static" / "js").mkdir(parents=True)
    shutil.copy(REPO / "static" / "js" / "sealing.js", root / "static" / "js" / "sealing.js")
    shutil.copytree(REPO / "static" / "vendor", root / "static" / "vendor")
    (root / "package.json").write_text('{"type": "module"}\n')
    small = unb64(WRAPPED["vectors"][0]["wrapped_b64"])
    request = {
        "envelopes": ENVELOPES,
        "wrapped_keys": WRAPPED,
        "python_sealed": {
            "envelope_b64": b64(seal_json(PK, PYTHON_NOTE)),
            "context": {"consultation": "c-py", "kind": "client_note"},
        },
        "python_wrapped": {
            "wrapped_b64": b64(wrap(SK, "wrapped by PyNaCl", opslimit=2, memlimit_kib=19456)),
            "passphrase": "wrapped by PyNaCl",
        },
        "messages": JS_MESSAGES,
        "padded_messages": PADDED_MESSAGES,
        "passphrase_nfd": unicodedata.normalize("NFD", PASSPHRASE_NFC),
        "wrapped_tamper_indexes": WRAPPED_TAMPER_INDEXES,
        "wrapped_malformed_b64": [
            b64(b""),
            b64(small[:96]),
            b64(small + b"\x00"),
            b64(b"\x02" + small[1:]),
            small_with_params(0, 19456),
            small_with_params(21, 19456),
            small_with_params(2**32 - 1, 19456),
            small_with_params(2, 19455),
            small_with_params(2, 2**20 + 1),
            small_with_params(2, 2**32 - 1),
            # Below the floor (argon2id 19 MiB, 2 passes): cheap to guess when stolen.
            small_with_params(1, 19456),
            small_with_params(1, 65536),
            small_with_params(2, 8192),
        ],
        "weak_params": WEAK_PARAMS,
        "low_order_hex": LOW_ORDER_HEX,
    }
    result = subprocess.run(
        [NODE, str(HERE / "sealing_driver.mjs"), (root / "static/js/sealing.js").as_uri()],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def test_js_fingerprints_match_python(js: dict[str, Any]) -> None:
    assert js["fingerprints"] == [ENVELOPES["fingerprint"], ENVELOPES["other_fingerprint"]]
    for pair in js["key_pairs"]:
        pk = unb64(pair["pk"])
        assert bytes(PrivateKey(unb64(pair["sk"])).public_key) == pk
        assert pair["fingerprint"] == fingerprint(pk)


def test_envelope_vectors_open_in_js(js: dict[str, Any]) -> None:
    for vector, outcome in zip(ENVELOPES["vectors"], js["envelope_vectors"], strict=True):
        if "message" in vector:
            assert outcome["ok"], outcome
            assert outcome["value"] == vector["message"]
        else:  # raw bytes: JS opened them, then refused them as not a JSON object
            assert outcome["name"] == "MalformedEnvelope", outcome
            assert "not a JSON object" in outcome["message"]


def test_wrapped_key_vectors_unwrap_in_js(js: dict[str, Any]) -> None:
    for vector, outcomes in zip(WRAPPED["vectors"], js["wrapped_vectors"], strict=True):
        assert outcomes, vector["name"]
        for outcome in outcomes:  # passphrase, NFD form, recovery key as shown and as typed
            assert outcome["ok"], (vector["name"], outcome)
            assert unb64(outcome["value"]) == SK
    names = [v["name"] for v in WRAPPED["vectors"]]
    assert len(js["wrapped_vectors"][names.index("unicode passphrase (NFC)")]) == 2
    assert len(js["wrapped_vectors"][names.index("recovery key")]) == 3


def test_recovery_key_normalisation_matches(js: dict[str, Any]) -> None:
    assert js["normalised"] == [n for _typed, n in WRAPPED["recovery_key_normalisation"]]


def test_python_sealed_opens_in_js(js: dict[str, Any]) -> None:
    assert js["python_sealed"]["ok"], js["python_sealed"]
    assert js["python_sealed"]["value"] == PYTHON_NOTE


def test_python_wrapped_unwraps_in_js(js: dict[str, Any]) -> None:
    assert js["python_wrapped"]["ok"], js["python_wrapped"]
    assert unb64(js["python_wrapped"]["value"]) == SK


def test_js_sealed_opens_in_python(js: dict[str, Any]) -> None:
    envelopes = [unb64(e) for e in js["js_sealed"]]
    for message, envelope in zip(JS_MESSAGES, envelopes, strict=True):
        assert envelope[0] == 1
        context = {k: message[k] for k in ("v", "consultation", "kind") if k in message}
        assert open_json(SK, envelope, context) == message
        assert json.loads(open_envelope(SK, envelope)) == message
    assert len({e[1:33] for e in envelopes}) == len(envelopes)  # fresh ephemeral keys
    assert len({e[33:57] for e in envelopes}) == len(envelopes)  # fresh nonces


def test_js_padded_messages_open_in_python_and_hide_the_length(js: dict[str, Any]) -> None:
    lengths = []
    for message, sealed in zip(PADDED_MESSAGES, js["js_padded"], strict=True):
        envelope = unb64(sealed)
        assert (len(envelope) - OVERHEAD) % PAD_TO == 0
        text = open_message(
            SK,
            envelope,
            consultation_id="c-js",
            message_id=message["message"],
            author_role="client",
            recipient_key_id="k-1",
        )
        assert text == message["text"]
        # The same bucket as the server's own sealing (the no-JavaScript path).
        assert len(envelope) == OVERHEAD + len(padded(message))
        lengths.append(len(envelope))
    # Texts of 0 to 8 bytes look alike, and so do those of 240 to 256.
    assert lengths == [329, 329, 585, 585, 585, 8265]


def test_js_wrapped_unwraps_in_python(js: dict[str, Any]) -> None:
    wrapped = unb64(js["js_wrapped"])
    assert len(wrapped) == 97
    assert struct.unpack(">BII", wrapped[:9]) == (1, 2, 19456)
    # JS wrapped under the NFD form; Python unwraps with the NFC form.
    assert unwrap(wrapped, PASSPHRASE_NFC, PK) == SK
    assert js["progress"]["calls"] > 0


def test_js_recovery_key_unwraps_in_python(js: dict[str, Any]) -> None:
    recovery = js["js_recovery"]
    typed = recovery["recovery_key"].lower().replace("-", " ")
    assert unwrap(unb64(recovery["wrapped_b64"]), normalise_recovery_key(typed), PK) == SK


def test_recovery_keys_are_160_bit_base32_in_groups(js: dict[str, Any]) -> None:
    keys = js["recovery_keys"]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){7}", key), key
        assert len(base64.b32decode(key.replace("-", ""))) == 20


def test_base64_is_standard_with_padding(js: dict[str, Any]) -> None:
    samples = [b"", b"\x00", b"\xff\xfe", bytes(range(256))]
    assert js["base64"] == [b64(s) for s in samples]
    for outcome in js["base64_refused"]:
        assert not outcome["ok"], outcome


def test_js_refuses_every_tampered_byte(js: dict[str, Any]) -> None:
    tampered = js["tampered"]
    assert tampered[0] == "MalformedEnvelope"
    assert set(tampered[1:]) == {"CannotOpen"}
    assert js["top_bit"]["name"] == "CannotOpen"


def test_js_refuses_wrong_key_context_and_malformed(js: dict[str, Any]) -> None:
    assert js["wrong_key"]["name"] == "CannotOpen"
    assert "cannot be opened: wrong key or altered" in js["wrong_key"]["message"]
    assert js["wrong_context"]["name"] == "WrongContext"
    assert "belongs to another context" in js["wrong_context"]["message"]
    assert js["wrong_type_context"]["name"] == "WrongContext"
    for outcome in js["malformed"]:
        assert outcome["name"] == "MalformedEnvelope"
        assert "malformed" in outcome["message"]
    assert js["low_order_seal"]["name"] == "TypeError"


def test_js_refuses_tampered_wrapped_keys(js: dict[str, Any]) -> None:
    outcomes = dict(zip(WRAPPED_TAMPER_INDEXES, js["wrapped_tampered"], strict=True))
    assert outcomes.pop(0)["name"] == "MalformedWrappedKey"
    for index, outcome in outcomes.items():
        assert outcome["name"] == "WrongPassphrase", (index, outcome)
    assert js["wrong_passphrase"]["name"] == "WrongPassphrase"
    assert js["wrong_passphrase"]["message"] == "wrong passphrase"
    assert js["key_mismatch"]["name"] == "KeyMismatch"
    assert "does not belong to the registered public key" in js["key_mismatch"]["message"]


def test_js_refuses_malformed_wrapped_keys_before_argon2(js: dict[str, Any]) -> None:
    for outcome in js["wrapped_malformed"]:
        assert outcome["name"] == "MalformedWrappedKey", outcome
        # argon2 at the smallest allowed size takes tens of milliseconds in JS: none ran.
        assert outcome["ms"] < 20, outcome
    assert js["wrap_absurd"]["name"] == "RangeError"
    assert js["wrap_absurd"]["ms"] < 20


def test_js_refuses_to_wrap_below_the_floor_before_argon2(js: dict[str, Any]) -> None:
    assert len(js["wrap_weak"]) == 5
    for outcome in js["wrap_weak"]:
        assert outcome["name"] == "RangeError", outcome
        assert "argon2 parameters out of range" in outcome["message"]
        assert outcome["ms"] < 20, outcome


def test_js_refuses_low_order_public_keys(js: dict[str, Any]) -> None:
    assert js["usable"] == [False] * 7
    assert js["usable_real"] == [True] * 10
    assert js["usable_odd"] == [False, False, False]  # short, top bit set, not bytes
    for outcome in js["low_order_seals"]:
        assert outcome["name"] == "TypeError", outcome
        assert outcome["message"] == "not a usable public key"
