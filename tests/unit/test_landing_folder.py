"""The landing folder listing: names as bytes, display names one to one."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from holdfast.entrypoints.duckdb_plugin import register_landing_functions
from holdfast.infrastructure.landing_folder import display_name, list_folder, read_file

NAMES = [
    b"b_0001.jsonl",
    b"[b]_0001.jsonl",
    b"c*.jsonl",
    b"?",
    b"a\\b.jsonl",
    b"\\",
    b"bad\xff.jsonl",
    b"bad\\xFF.jsonl",
    "ünï 日本.jsonl".encode(),
    b"line\nbreak",
    b".hidden.part",
]


def _write(folder: Path, names: list[bytes]) -> None:
    for index, name in enumerate(names):
        with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
            handle.write(b"x\n" * (index + 1))


def test_display_names_are_one_to_one_and_readable():
    shown = [display_name(name) for name in NAMES]
    assert len(set(shown)) == len(NAMES)
    assert display_name(b"b_0001.jsonl") == "b_0001.jsonl"
    assert display_name("ünï 日本.jsonl".encode()) == "ünï 日本.jsonl"
    assert display_name(b"bad\xff.jsonl") == "bad\\xFF.jsonl"
    assert display_name(b"bad\\xFF.jsonl") == "bad\\x5CxFF.jsonl"
    assert display_name(b"line\nbreak") == "line\\x0Abreak"
    assert display_name(b"\xc3\xbc\xff") == "\\xC3\\xBC\\xFF"  # not UTF-8: every byte


def test_the_listing_holds_every_regular_file_once_with_its_bytes(tmp_path: Path):
    _write(tmp_path, NAMES)
    (tmp_path / "subfolder").mkdir()
    listed = list_folder(str(tmp_path))
    assert sorted(e["name"] for e in listed) == sorted(NAMES)
    for entry in listed:
        index = NAMES.index(entry["name"])
        assert entry["size"] == 2 * (index + 1)
        assert entry["is_name_utf8"] == (entry["name"] != b"bad\xff.jsonl")
        assert read_file(str(tmp_path), entry["name"]) == b"x\n" * (index + 1)
    assert list_folder(str(tmp_path / "absent")) == []


def test_the_sql_functions_list_and_read_by_exact_name(tmp_path: Path):
    _write(tmp_path, NAMES)
    con = duckdb.connect()
    try:
        register_landing_functions(con)
        rows = con.execute(
            "select hex(e.name), e.file_name, e.size, "
            "octet_length(holdfast_read_file(?, e.name)) "
            "from (select unnest(holdfast_list_folder(?)) as e)",
            [str(tmp_path), str(tmp_path)],
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == len(NAMES)
    for name_hex, file_name, size, read in rows:
        name = bytes.fromhex(name_hex)
        assert file_name == display_name(name)
        assert size == read == 2 * (NAMES.index(name) + 1)
