"""docs/deployment.md: every `flask --app wsgi …` command in its code blocks exists with the options it shows
(the real runs are in the tests of each command), and README and the documentation index link the guide."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deployment.md"
_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_COMMAND = re.compile(r"flask --app wsgi (.+)$")
# The commands an admin must find in the guide, each run for real by its own tests.
ESSENTIAL = [["db", "upgrade"], ["check"], ["db", "backup"], ["db", "copy-to"], ["lti", "keys", "rotate"],
             ["lti", "worker"]]


def guide_commands() -> list[list[str]]:
    """The arguments after `flask --app wsgi` on each code line (shell comments and chains cut off)."""
    commands = []
    for block in _BLOCK.findall(GUIDE.read_text()):
        for line in block.splitlines():
            match = _COMMAND.search(line)
            if match:
                words = shlex.split(match.group(1), comments=True)
                commands.append(words[:next((i for i, w in enumerate(words) if w in ("&&", ";", "|")), len(words))])
    return commands


def test_the_guide_shows_every_essential_command():
    commands = guide_commands()
    assert [essential for essential in ESSENTIAL
            if not any(command[:len(essential)] == essential for command in commands)] == []


@pytest.mark.parametrize("command", guide_commands(), ids=" ".join)
def test_each_command_in_the_guide_parses(app, command):
    result = app.test_cli_runner().invoke(args=[*command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


def test_readme_and_the_documentation_index_link_the_guide():
    assert "(docs/deployment.md)" in (ROOT / "README.md").read_text()
    assert "(deployment.md)" in (ROOT / "docs" / "README.md").read_text()
