"""Fixtures of the adversarial suite: a clean environment and the generated corpus.

``tests/`` is not a package, so its helpers (``sheetmaker``, ``e2e_support``) and this folder's
modules are put on ``sys.path`` here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import make_corpus  # noqa: E402
from adversarial_support import CREDENTIAL_VARS  # noqa: E402


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private FEEDS_KIT_HOME and config path, and no credentials from the outside."""
    home = tmp_path / "home"
    monkeypatch.setenv("FEEDS_KIT_HOME", str(home))
    monkeypatch.setenv("FEEDS_KIT_CONFIG", str(tmp_path / "config.toml"))
    for name in CREDENTIAL_VARS:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def runner(clean_env: Path) -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every bad file of :mod:`make_corpus`, written once per test session."""
    folder = tmp_path_factory.mktemp("corpus")
    return make_corpus.write_corpus(folder)


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("home")
