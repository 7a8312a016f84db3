"""Is the public API the web layer calls all reachable from ``elections``?"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import elections

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", elections.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(elections, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        elections.no_such_thing  # noqa: B018


def test_importing_the_package_loads_no_submodule_until_asked():
    code = (
        "import sys, elections; print(sorted(m for m in sys.modules if m.startswith('elections.')))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "[]"


def test_the_main_entry_point_names_its_commands(capsys):
    main = importlib.import_module("elections.__main__").main
    assert main([]) == 2
    assert "verify" in capsys.readouterr().err
