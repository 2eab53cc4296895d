"""Logging that cannot leak what people typed.

Threat: a code, password or note reaching a log file through an exception message
(``KeyError('1234 5678')``) or a traceback. Tracebacks are written as frames (file,
line, function) and exception type names only, never exception text or local values.
There is no access log (see ``cli.py``); nothing in the portal logs addresses.

What an operator needs is still there: the cause of an infrastructure failure (a refused
connection, a host name not found) is named from the exception's type and error number,
as one of a few fixed phrases (``infrastructure_cause``), never from its text.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import ssl
import traceback
from types import TracebackType

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class RedactingFormatter(logging.Formatter):
    def formatException(self, ei: _ExcInfo | tuple[None, None, None]) -> str:
        _type, exc, tb = ei
        if exc is None:
            return ""
        lines = ["Traceback (messages withheld):"]
        lines += [
            f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
            for frame in traceback.extract_tb(tb)
        ]
        chain: BaseException | None = exc
        names: list[str] = []
        while chain is not None and len(names) < 5:
            names.append(type(chain).__qualname__)
            chain = chain.__cause__ or chain.__context__
        cause = infrastructure_cause(exc)
        lines.append(" <- ".join(names) + (f" ({cause})" if cause else ""))
        return "\n".join(lines)


class JsonFormatter(RedactingFormatter):
    """One JSON object a line (``PORTAL_LOG_FORMAT=json``), with the same redaction."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# Error numbers of failures in reaching another machine, with the phrase logged for each.
_ERRNO_CAUSES = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.ENOENT: "no such file or socket",
    errno.EACCES: "permission denied",
}
# Driver errors by class name (asyncpg, psycopg, redis): the phrase logged for each.
_NAMED_CAUSES = {
    "InvalidPasswordError": "password authentication failed",
    "InvalidAuthorizationSpecificationError": "authentication refused",
    "InvalidCatalogNameError": "database does not exist",
    "CannotConnectNowError": "database is starting or shutting down",
    "TooManyConnectionsError": "too many connections",
}
# psycopg (libpq) puts everything into OperationalError's text: only these fixed phrases
# are looked for in it, and only the phrase is logged.
_LIBPQ_CAUSES = (
    (("connection refused",), "connection refused"),
    (("password authentication failed",), "password authentication failed"),
    (("fatal", 'database "', "does not exist"), "database does not exist"),
    (("timeout expired",), "timed out"),
    (("could not translate host name",), "host name not found"),
    (("no pg_hba.conf entry",), "refused by pg_hba.conf"),
    (("no such file or directory",), "no such file or socket"),
    (("unable to open database file",), "cannot open the database file"),
)


def infrastructure_cause(exc: BaseException | None) -> str:
    """A fixed phrase for why a database, Redis or network call failed, or "" when the
    exception is not about infrastructure. Never the exception's own text."""
    seen = 0
    while exc is not None and seen < 8:
        seen += 1
        if isinstance(exc, socket.gaierror):
            return "host name not found"
        if isinstance(exc, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(exc, TimeoutError):
            return "timed out"
        if isinstance(exc, OSError) and exc.errno in _ERRNO_CAUSES:
            return _ERRNO_CAUSES[exc.errno]
        named = _NAMED_CAUSES.get(type(exc).__name__)
        if named:
            return named
        if type(exc).__module__.split(".")[0] in {"psycopg", "sqlite3", "sqlalchemy"} or (
            type(exc).__name__ == "OperationalError"
        ):
            text = str(exc).lower()
            for needles, phrase in _LIBPQ_CAUSES:
                if all(needle in text for needle in needles):
                    return phrase
        exc = exc.__cause__ or exc.__context__
    return ""


LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(level: str = "info", log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # "debug" is for the portal's own lines only: a library's debug output (a driver, the
    # form parser, the mail client) may hold what people sent.
    root.setLevel(max(LEVELS[level], logging.INFO))
    logging.getLogger("portal").setLevel(LEVELS[level])
    # uvicorn.access would record client addresses and request lines.
    logging.getLogger("uvicorn.access").disabled = True
