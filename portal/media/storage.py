"""Photo files on disk: server-generated names, outside `static/`, private permissions (F4).

Each stored image is three files in `<PORTAL_UPLOAD_DIR>/photos/`: `<name>.<ext>` (the re-encoded
full image), `<name>.display.webp` and `<name>.thumb.webp`. Names are random, never derived from
what the browser sent. Versions whose image did not change share the same files.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

from portal.media.imaging import ACCEPTED_FORMATS, ProcessedImage

SIZES = ("full", "display", "thumb")


def photo_dir() -> Path:
    return Path(current_app.config["PORTAL_UPLOAD_DIR"]) / "photos"


def _file_names(name: str, image_format: str) -> dict[str, str]:
    extension = ACCEPTED_FORMATS[image_format][1]
    return {
        "full": f"{name}.{extension}",
        "display": f"{name}.display.webp",
        "thumb": f"{name}.thumb.webp",
    }


def path_for(name: str, image_format: str, size: str) -> Path:
    return photo_dir() / _file_names(name, image_format)[size]


def mime_for(image_format: str, size: str) -> str:
    return ACCEPTED_FORMATS[image_format][0] if size == "full" else "image/webp"


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".part")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def store(image: ProcessedImage) -> str:
    """Write the image and its derivatives under a new random name; return the name."""
    folder = photo_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(16)
    files = _file_names(name, image.format)
    for size, data in (
        ("full", image.full),
        ("display", image.display),
        ("thumb", image.thumbnail),
    ):
        _write(folder / files[size], data)
    return name


def discard(name: str, image_format: str) -> None:
    """Remove files written for a change that was then not saved."""
    for file_name in _file_names(name, image_format).values():
        (photo_dir() / file_name).unlink(missing_ok=True)
