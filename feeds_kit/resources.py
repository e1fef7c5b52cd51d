"""Where the data files shipped with feeds-kit live: ``schemas/`` and ``templates/``.

In a checkout they sit at the top of the repository; in an installed wheel they are carried
inside the package as ``feeds_kit/_data/`` (see ``pyproject.toml``). Callers ask here and never
build paths themselves, so both installs behave the same.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.cache
def data_dir(name: str) -> Path:
    """The directory ``schemas`` or ``templates`` for this install."""
    packaged = Path(str(resources.files("feeds_kit"))) / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"feeds-kit is installed without its {name}/ folder")


def schema_path(*parts: str) -> Path:
    """Path of a file under ``schemas/`` (e.g. ``schema_path("amazon", "x.json")``)."""
    return data_dir("schemas").joinpath(*parts)


def template_path(*parts: str) -> Path:
    """Path of a file under ``templates/``."""
    return data_dir("templates").joinpath(*parts)


@functools.cache
def load_schema(*parts: str) -> Any:
    """Parsed JSON of a file under ``schemas/`` (cached; treat the result as read-only)."""
    with schema_path(*parts).open("rb") as fh:
        return json.load(fh)


@functools.cache
def load_template_data(*parts: str) -> Any:
    """Parsed JSON of a file under ``templates/`` (cached; treat the result as read-only)."""
    with template_path(*parts).open("rb") as fh:
        return json.load(fh)
