"""Logging that cannot leak what people typed.

Threat: a code, password or note reaching a log file through an exception message
(``KeyError('1234 5678')``) or a traceback. Tracebacks are written as frames (file,
line, function) and exception type names only, never exception text or local values.
There is no access log (see ``cli.py``); nothing in the portal logs addresses.
"""

from __future__ import annotations

import logging
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
        lines.append(" <- ".join(names))
        return "\n".join(lines)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn.access would record client addresses and request lines.
    logging.getLogger("uvicorn.access").disabled = True
