"""Do the pure domain packages stay pure — no Flask, no SQLAlchemy, no site code?

An auditor runs ``python -m elections.verify`` with nothing but ``cryptography`` installed, so
``elections/`` and ``tenders/`` may import only the standard library, ``cryptography`` and each
other. A fresh interpreter imports every module of both packages and then inspects
``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = (
    "flask",
    "flask_login",
    "flask_wtf",
    "flask_babel",
    "sqlalchemy",
    "alembic",
    "werkzeug",
    "jinja2",
    "app",
)

PROBE = """
import importlib, json, pkgutil, sys
imported = []
for package_name in ("elections", "tenders"):
    package = importlib.import_module(package_name)
    imported.append(package_name)
    for module in pkgutil.walk_packages(package.__path__, package_name + "."):
        importlib.import_module(module.name)
        imported.append(module.name)
print(json.dumps({"imported": imported, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_every_module_of_both_packages_was_imported(probe):
    imported = set(probe["imported"])
    for package in ("elections", "tenders"):
        expected = {
            f"{package}.{path.stem}"
            for path in (ROOT / package).glob("*.py")
            if path.stem not in ("__init__", "__main__")
        }
        assert expected <= imported, expected - imported


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_no_web_or_database_library_is_imported(probe, forbidden):
    loaded = [m for m in probe["modules"] if m == forbidden or m.startswith(forbidden + ".")]
    assert loaded == [], f"a pure package pulled in {loaded}"
