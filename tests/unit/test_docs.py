"""The documentation stays usable: a README short enough to read, links that
resolve, and no file that speaks of the history of the work (work sessions,
issue numbers) instead of the project. What changed and when belongs in
CHANGELOG.md, by version."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
README = PROJECT / "README.md"
README_MAX_LINES = 300

# The same pattern a reviewer runs: `git grep -niE "<HISTORY_PATTERN>"`.
HISTORY_PATTERN = r"\bsessions? ?[0-9]+|session-[0-9]+|\bissues? #?[0-9]+"

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _markdown_files() -> list[Path]:
    return [README, *sorted((PROJECT / "docs").glob("*.md"))]


def _prose_lines(path: Path) -> list[str]:
    """The lines of a markdown file outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(m.group(1)) for line in _prose_lines(path) if (m := HEADING.match(line))}


def _relative_links(path: Path) -> list[str]:
    targets = []
    for line in _prose_lines(path):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.IGNORECASE):
                continue  # http:, https:, mailto: ...
            targets.append(target)
    return targets


def test_the_readme_is_at_most_300_lines():
    n_lines = len(README.read_text(encoding="utf-8").splitlines())
    assert n_lines <= README_MAX_LINES, (
        f"README.md has {n_lines} lines (at most {README_MAX_LINES}): move depth to docs/"
    )


def test_every_relative_link_in_the_readme_and_docs_resolves():
    broken = []
    for path in _markdown_files():
        for target in _relative_links(path):
            file_part, _, anchor = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(PROJECT)} -> {target}"
            if not destination.exists():
                broken.append(f"{where} (no such file)")
            elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
                broken.append(f"{where} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_no_tracked_file_speaks_of_work_sessions_or_issue_numbers():
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: cannot list the tracked files")
    inside = subprocess.run(
        [git, "rev-parse", "--is-inside-work-tree"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.returncode != 0:
        pytest.skip("the project is not a git work tree: cannot list the tracked files")
    found = subprocess.run(
        [git, "grep", "-n", "-i", "-I", "-E", HISTORY_PATTERN],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode in (0, 1), f"git grep failed: {found.stderr.strip()}"
    hits = found.stdout.splitlines()
    files = sorted({hit.split(":", 1)[0] for hit in hits})
    assert not hits, (
        "history wording (work sessions, issue numbers) in tracked files; describe the project "
        "instead, and put what changed in CHANGELOG.md:\n"
        + "\n".join(files)
        + "\n\n"
        + "\n".join(hit[:200] for hit in hits[:50])
    )
