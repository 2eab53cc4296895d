"""In-process time to open a 20-message conversation for a client (budget: 2 ms).

    .venv/bin/python bench/envelopes.py

The client's meeting page opens the client's envelopes in the request with the secret
key from their session (no argon2): one X25519 scalar multiplication and one
XSalsa20-Poly1305 open per message. This times exactly that, on messages of the longest
allowed text (4,000 characters, padded), as the median of 200 runs.
"""

from __future__ import annotations

import statistics
import time

from nacl.public import PrivateKey

from portal.domain.conversation import RecipientKey, open_message, seal_message

MESSAGES = 20


def main() -> None:
    private = PrivateKey.generate()
    client = RecipientKey("k-client", bytes(private.public_key), "client", None, "")
    envelopes = [
        seal_message(client, consultation_id="c", message_id=f"m-{n}",
                     author_role="investigator", at=1_800_000_000, text="x" * 4000)
        for n in range(MESSAGES)
    ]  # fmt: skip
    secret = bytes(private)
    runs = []
    for _ in range(200):
        started = time.perf_counter()
        for n, envelope in enumerate(envelopes):
            open_message(secret, envelope, consultation_id="c", message_id=f"m-{n}",
                         author_role="investigator", recipient_key_id="k-client")  # fmt: skip
        runs.append(time.perf_counter() - started)
    median = statistics.median(runs) * 1000
    print(f"open {MESSAGES} envelopes: median {median:.2f} ms, best {min(runs) * 1000:.2f} ms"
          f" (budget 2 ms){'' if median <= 2 else ' OVER'}")  # fmt: skip


if __name__ == "__main__":
    main()
