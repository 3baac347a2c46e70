"""The `holdfast` command follows the conventions of command-line tools: `--version`,
exit codes listed in each subcommand's --help, Ctrl-C exits 130 in one line.

tests/integration/test_cli_signals.py sends a real SIGINT to a running command.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from holdfast import cli
from holdfast.infrastructure.run_lock import hold_run_lock
from holdfast.ops.exit_codes import ExitCode

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

# what each subcommand can return, written out here from what its code does
CAN_RETURN = {
    "generate": {0, 2, 4, 130},
    "import-online-retail": {0, 2, 4, 130},
    "run": {0, 1, 2, 3, 4, 5, 130},
    "report": {0, 2, 4, 6, 7, 8, 130},
    "summary": {0, 2, 4, 6, 7, 8, 130},
    "query": {0, 2, 4, 6, 7, 8, 130},
    "dlq": {0, 2, 3, 4, 6, 7, 8, 130},
    "demo": {0, 1, 2, 3, 4, 5, 130},
    "evaluate": {0, 1, 2, 4, 130},
}
EXIT_LINE = re.compile(r"^  (\d+) +(\S.*)$")


def _exits(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    out = capsys.readouterr()
    return stopped.value.code, out.out, out.err


def test_version_prints_the_version_in_pyproject(capsys):
    version = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    assert _exits(capsys, ["--version"]) == (0, f"holdfast {version}\n", "")


def test_every_subcommand_is_listed_here():
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    assert set(commands.choices) == set(CAN_RETURN)


@pytest.mark.parametrize("command", sorted(CAN_RETURN))
def test_help_lists_every_exit_code_the_subcommand_returns(capsys, command):
    code, out, _ = _exits(capsys, [command, "--help"])
    assert code == 0
    section = out.split("\nexit codes:\n", 1)[1]
    listed = {int(m[1]): m[2] for m in map(EXIT_LINE.match, section.splitlines()) if m}
    assert set(listed) == CAN_RETURN[command]
    for number, text in listed.items():  # the meanings come from the table the code returns
        assert ExitCode(number).meaning.startswith(text)


class InterruptedDbt:
    """Stands in for subprocess.Popen: dbt is 'running' when Ctrl-C comes."""

    pid = 999_999

    def __init__(self, command, **kwargs) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def wait(self, timeout: float | None = None) -> int:
        raise KeyboardInterrupt


def test_ctrl_c_during_a_run_exits_130_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOLDFAST_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("HOLDFAST_PROJECT_DIR", str(tmp_path))
    monkeypatch.setattr(cli.subprocess, "Popen", InterruptedDbt)
    assert cli.main(["run"]) == ExitCode.INTERRUPTED == 130
    assert capsys.readouterr().err == "holdfast run: interrupted\n"
    with hold_run_lock(tmp_path / "w.duckdb"):  # the interrupted run let go of it
        pass


def test_ctrl_c_in_any_command_is_not_a_crash(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("holdfast.datagen.synthetic.generate_landing", interrupted)
    code = cli.main(["generate", "--customers", "10", "--out", str(tmp_path)])
    assert code == ExitCode.INTERRUPTED != ExitCode.CRASH
    assert capsys.readouterr().err == "holdfast generate: interrupted\n"
