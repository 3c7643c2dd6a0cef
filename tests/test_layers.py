"""Import direction: models ← lti ← services ← blueprints; jobs/cli call services.

Parsing imports is cheap and stops a layer from quietly reaching upwards.
"""
import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
REQUEST_GLOBALS = {"request", "session", "render_template", "flash", "redirect", "g"}

FORBIDDEN = {
    "models": ("app.services", "app.lti", "app.blueprints", "app.jobs", "app.cli"),
    "lti": ("app.services", "app.blueprints", "app.jobs", "app.cli"),
    "services": ("app.blueprints", "app.cli", "app.jobs.worker"),
    "jobs": ("app.blueprints", "app.cli"),
    "cli": ("app.blueprints",),
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]


def _modules(layer: str):
    return sorted((APP / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_does_not_import_upwards(layer):
    offences = []
    for path in _modules(layer):
        for module, _names in _imports(path):
            if module.startswith(FORBIDDEN[layer]):
                offences.append(f"{path.relative_to(APP)} imports {module}")
    assert offences == []


def test_services_use_no_request_globals():
    offences = []
    for path in _modules("services"):
        for module, names in _imports(path):
            if module == "flask" and names and REQUEST_GLOBALS & set(names):
                offences.append(f"{path.relative_to(APP)} imports {sorted(REQUEST_GLOBALS & set(names))} from flask")
    assert offences == []


def test_blueprints_do_not_import_each_other():
    offences = []
    for path in _modules("blueprints"):
        own = path.relative_to(APP / "blueprints").parts[0]
        for module, _names in _imports(path):
            if module.startswith("app.blueprints.") and module.split(".")[2] != own:
                offences.append(f"{path.relative_to(APP)} imports {module}")
    assert offences == []
