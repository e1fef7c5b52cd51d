"""Writing files so that an interrupted run never leaves half of one.

Every file feeds-kit writes for a user or for itself (feed documents, manifests, annotated
workbooks, fix sheets, templates, journal copies, cached schemas) goes through here: the bytes
go to a temporary file in the target's directory, are flushed to disk, and the temporary file
is renamed over the target. A reader sees the old file or the whole new one; a crash leaves
the old file and at worst a stray ``.NAME.xxxx.tmp`` beside it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feeds_kit.errors import OutputError

#: The mode of a file only its owner may read (the journal's copies of seller data).
PRIVATE = 0o600
#: The ordinary mode, less the umask, as any program would create the file.
ORDINARY = 0o666


def save_atomic(target: Path, save: Callable[[str], Any], *, mode: int = ORDINARY) -> None:
    """Write ``target`` through ``save(temporary_path)``, then move it into place.

    ``save`` receives the path of an empty file it may overwrite (``Workbook.save`` does).
    Raises :class:`OutputError` naming ``target`` when it cannot be written.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = _create_temp(target, mode)
    except OSError as error:
        raise OutputError(
            f"Cannot write {target}: {error.strerror or error}.", file=str(target)
        ) from None
    try:
        save(str(temp))
        # Without the flush a power cut right after the rename can leave an empty file on file
        # systems that persist the rename before the data.
        with open(temp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except OSError as error:
        raise OutputError(
            f"Cannot write {target}: {error.strerror or error}.", file=str(target)
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def write_atomic(target: Path, data: bytes, *, mode: int = ORDINARY) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`save_atomic`)."""

    def write(path: str) -> None:
        with open(path, "wb") as fh:
            fh.write(data)

    save_atomic(target, write, mode=mode)


def _create_temp(target: Path, mode: int) -> Path:
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return temp
    raise FileExistsError(f"no free temporary name for {target.name} in {target.parent}")
