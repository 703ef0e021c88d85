"""The examples in docstrings run and print what they say (every module that has one)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import napari_densitybuild

ROOT = Path(napari_densitybuild.__file__).parent
MODULES = sorted(
    ".".join(("napari_densitybuild", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(
        ".__init__"
    )
    for p in ROOT.rglob("*.py")
    if ">>>" in p.read_text()
)


def test_modules_with_examples_are_found():
    assert "napari_densitybuild.contacts" in MODULES and len(MODULES) > 10


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
