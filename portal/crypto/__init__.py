"""Cryptography: password and code hashing, TOTP, signed tokens, (later) note envelopes."""
