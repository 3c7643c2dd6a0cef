"""Import direction: models ← lti (with lti/legacy) ← services/<domain> ← web ← blueprints; jobs and cli
call services.

Parsing imports is cheap and stops a layer from quietly reaching upwards.
"""
import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
REQUEST_GLOBALS = {"request", "session", "render_template", "flash", "redirect", "g"}
SERVICE_DOMAINS = {"accounts", "courses", "platforms", "publishing", "launch", "sync", "legacy", "operations"}
SHARED_SERVICES = {"__init__.py", "errors.py", "demo.py"}

FORBIDDEN = {
    "models": ("app.services", "app.lti", "app.web", "app.blueprints", "app.jobs", "app.cli"),
    "lti": ("app.services", "app.web", "app.blueprints", "app.jobs", "app.cli"),
    "services": ("app.web", "app.blueprints", "app.cli", "app.jobs.worker"),
    # Web glue shared by blueprints (launch pages): it renders and commits, but owns no route of its own.
    "web": ("app.blueprints", "app.cli", "app.jobs"),
    "jobs": ("app.web", "app.blueprints", "app.cli"),
    "cli": ("app.web", "app.blueprints"),
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
    assert _modules(layer), f"app/{layer} has no modules: the map is out of date"
    offences = []
    for path in _modules(layer):
        for module, _names in _imports(path):
            if module.startswith(FORBIDDEN[layer]):
                offences.append(f"{path.relative_to(APP)} imports {module}")
    assert offences == []


def test_services_are_grouped_by_domain():
    """Business rules live in a domain package; only the shared errors (and the demo data) sit beside them."""
    services = APP / "services"
    packages = {path.name for path in services.iterdir() if path.is_dir() and path.name != "__pycache__"}
    loose = {path.name for path in services.glob("*.py")} - SHARED_SERVICES
    assert (packages, loose) == (SERVICE_DOMAINS, set())
    for domain in packages:
        assert (services / domain / "__init__.py").exists(), f"services/{domain} is not a package"


def test_the_lti_layer_includes_its_legacy_package():
    """LTI 1.1/2.0 protocol code (app/lti/legacy) is held to the lti layer's rules: no services, web or views."""
    assert APP / "lti" / "legacy" / "launch.py" in _modules("lti")


def test_services_use_no_request_globals():
    offences = []
    for path in _modules("services"):
        for module, names in _imports(path):
            if module == "flask" and names and REQUEST_GLOBALS & set(names):
                offences.append(f"{path.relative_to(APP)} imports {sorted(REQUEST_GLOBALS & set(names))} from flask")
    assert offences == []


def test_blueprints_do_not_import_each_other():
    """Glue two blueprints need goes in app/web instead."""
    offences = []
    for path in _modules("blueprints"):
        own = path.relative_to(APP / "blueprints").parts[0]
        for module, _names in _imports(path):
            if module.startswith("app.blueprints.") and module.split(".")[2] != own:
                offences.append(f"{path.relative_to(APP)} imports {module}")
    assert offences == []
