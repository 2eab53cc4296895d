"""The security layer: headers, request limits, sessions, CSRF, rate limits, guards."""
