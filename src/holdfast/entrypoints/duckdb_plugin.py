"""dbt-duckdb plugin (profiles.yml `plugins`): SQL functions over the landing
folder, registered on every connection dbt opens.

- ``holdfast_list_folder(folder)``: the folder's regular files as a list of
  structs (name BLOB, file_name, is_name_utf8, size, modified_epoch).
- ``holdfast_read_file(folder, name)``: one file's bytes by its exact name.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from holdfast.infrastructure.landing_folder import list_folder, read_file

ENTRY_TYPE = (
    "STRUCT(name BLOB, file_name VARCHAR, is_name_utf8 BOOLEAN, size BIGINT,"
    " modified_epoch BIGINT)[]"
)


def register_landing_functions(con: Any) -> None:
    """Register the landing folder functions on a DuckDB connection."""
    con.create_function(
        "holdfast_list_folder",
        list_folder,
        ["VARCHAR"],
        ENTRY_TYPE,
        side_effects=True,
    )
    con.create_function(
        "holdfast_read_file",
        read_file,
        ["VARCHAR", "BLOB"],
        "BLOB",
        side_effects=True,
    )


class Plugin(BasePlugin):
    def configure_connection(self, conn: Any) -> None:
        register_landing_functions(conn)
