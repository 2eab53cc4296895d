"""Fill empty translations in a catalogue from a small JSON map: ``{msgid: msgstr}``.

For the few strings a change adds; larger batches go to a translator with the .po file.
Usage: .venv/bin/python tools/fill_po.py portal/locale/fi/LC_MESSAGES/messages.po map.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def main(po_path: str, map_path: str) -> None:
    path = Path(po_path)
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translations = json.loads(Path(map_path).read_text(encoding="utf-8"))
    for message in catalog:
        if message.id in translations and not message.string:
            message.string = translations[message.id]
    with path.open("wb") as handle:
        write_po(handle, catalog, width=76, sort_output=True, omit_header=False)


if __name__ == "__main__":
    main(*sys.argv[1:3])
