"""The landing folder as the file system holds it: names are bytes, not patterns.

DuckDB's glob skips names that contain a backslash and cannot build a value
for a name that is not UTF-8, so the folder is listed here, once per read, and
every regular file is returned with its exact name. What happens to each name
(read, refused, ignored) is decided in SQL (macro landing_listing).
"""

from __future__ import annotations

import os
from typing import TypedDict


class LandingEntry(TypedDict):
    name: bytes
    file_name: str
    is_name_utf8: bool
    size: int
    modified_epoch: int


def display_name(name: bytes) -> str:
    r"""A file name as text, one to one with the bytes.

    A UTF-8 name is kept as it is, except that a backslash and control
    characters are written ``\xHH``; a name that is not UTF-8 keeps printable
    ASCII and writes every other byte ``\xHH``. So no two names share a
    display name: only a name that is not UTF-8 shows ``\x80`` to ``\xFF``.
    """
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02X}" for b in name)
    return "".join(
        f"\\x{ord(c):02X}" if c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F else c for c in text
    )


def list_folder(folder: str) -> list[LandingEntry]:
    """Every regular file directly in `folder` (symbolic links followed), in
    byte order of the names; an absent folder holds nothing."""
    try:
        entries = list(os.scandir(os.fsencode(folder)))
    except FileNotFoundError:
        return []
    listed: list[LandingEntry] = []
    for entry in entries:
        try:
            if not entry.is_file():
                continue
            stat = entry.stat()
        except FileNotFoundError:
            continue  # removed while the folder was listed
        name = entry.name
        listed.append(
            {
                "name": name,
                "file_name": display_name(name),
                "is_name_utf8": _is_utf8(name),
                "size": stat.st_size,
                # whole seconds, as DuckDB's read_blob reports last_modified
                "modified_epoch": stat.st_mtime_ns // 1_000_000_000,
            }
        )
    return sorted(listed, key=lambda e: e["name"])


def read_file(folder: str, name: bytes) -> bytes:
    """The bytes of one file, by its exact name (for names DuckDB cannot open
    by path: not UTF-8, or a backslash beside a glob character)."""
    with open(os.path.join(os.fsencode(folder), name), "rb") as handle:
        return handle.read()


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
