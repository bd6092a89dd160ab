"""Safe processing of photo uploads: verify, decode, strip every piece of metadata, re-encode.

An upload is either refused with an `ImageRejected` carrying one of `REASONS`, or turned into
a `ProcessedImage` whose bytes were all produced by Pillow from decoded pixels only: no EXIF
(GPS included), XMP, IPTC, comment or ICC profile survives, the EXIF orientation is applied to
the pixels, and the display and thumbnail derivatives are WebP.

Nothing here knows about Flask or the database. Checks run cheapest first and always in this
order: empty, too_large, wrong_type (magic bytes, foreign signatures outside the compressed
image data, trailing data), then the header dimensions (too_many_pixels) before any pixel data
is decoded, animation, and finally verification and decoding (damaged). Whatever hostile bytes
come in, the only exception that leaves `process_image` is `ImageRejected`.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from functools import cache

from PIL import Image, ImageCms, ImageOps

EMPTY = "empty"
TOO_LARGE = "too_large"
WRONG_TYPE = "wrong_type"
TOO_MANY_PIXELS = "too_many_pixels"
DAMAGED = "damaged"
ANIMATED = "animated"
REASONS = (EMPTY, TOO_LARGE, WRONG_TYPE, TOO_MANY_PIXELS, DAMAGED, ANIMATED)

ACCEPTED_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
DISPLAY_MAX = 1600
THUMBNAIL_MAX = 320
DERIVATIVE_MIME = "image/webp"

# A progressive JPEG decodes every scan over the whole image; thousands of tiny scans fit in a
# small file and cost seconds of CPU. Real encoders write about 10 (mozjpeg a few dozen).
MAX_JPEG_SCANS = 256

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Markup and container signatures that have no business inside a photo (matched on the
# lower-cased bytes). Browsers and other tools sniff these; the re-encoded output never
# carries them, this refuses the upload outright. They are looked for only where text can
# hide (metadata segments and chunks, bytes after the image): compressed image data looks
# random, and a 4-byte signature turns up in it by chance about once per 500 MB.
_FOREIGN_SIGNATURES = (
    b"<script",
    b"<html",
    b"<svg",
    b"<!doctype",
    b"<?php",
    b"<iframe",
    b"%pdf-",
    b"javascript:",
)
_TEXT_SIGNATURES = re.compile(b"|".join(re.escape(signature) for signature in _FOREIGN_SIGNATURES))
# The start of the file is what sniffers read (HTML, PDF and polyglot headers), so it is
# searched whatever it holds, image data included, but only for signatures of 5 bytes or
# more: about 1 in 10 million clean uploads matches one by chance.
_HEADER_SCAN_BYTES = 1024
_HEADER_SIGNATURES = re.compile(
    rb"<script|<html|<svg[\s/>]|<!doctype|<\?php|<iframe|%pdf-|javascript:"
)
# Image data, never searched: PNG IDAT/fdAT and WebP bitstream chunks (ANMF: a whole frame).
_PNG_IMAGE_CHUNKS = frozenset({b"IDAT", b"fdAT"})
_WEBP_IMAGE_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"ALPH", b"ANMF"})
_ZIP_SIGNATURES = (b"PK\x05\x06", b"PK\x03\x04")
# Between JPEG segments: fill bytes and markers without a length (TEM, RSTn, a stray SOI),
# then the next marker's code (group 1, None if there is no next marker).
_JPEG_MARKER = re.compile(rb"(?:\xff+[\x01\xd0-\xd8])*+(?:\xff+(.))?", re.DOTALL)
# In JPEG entropy-coded data, 0xFF is followed by 0x00 (stuffing), a restart marker or more
# 0xFF fill bytes; anything else is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})

_JPEG_SAVE = {"quality": 88, "optimize": True, "progressive": False}
_PNG_SAVE = {"optimize": True}
_WEBP_SAVE = {"quality": 85, "method": 4}
_DERIVATIVE_SAVE = {"quality": 80, "method": 4}


class ImageRejected(Exception):
    """An upload that is not stored. `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        # English, for logs and tests only; never shown to users.
        self.detail = detail


@dataclass(frozen=True)
class ProcessedImage:
    format: str  # "JPEG" | "PNG" | "WEBP", the upload's verified format
    mime: str
    extension: str
    width: int  # after orientation is applied
    height: int
    full: bytes  # same format, orientation applied, no metadata
    display: bytes  # WebP, longest side <= DISPLAY_MAX (never upscaled)
    thumbnail: bytes  # WebP, longest side <= THUMBNAIL_MAX (never upscaled)
    sha256: str  # hex SHA-256 of `full`


def sniff_format(data: bytes) -> str | None:
    """Return "JPEG", "PNG" or "WEBP" from the magic bytes, else None."""
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def process_image(
    data: bytes, *, max_bytes: int, max_pixels: int, max_side: int = 20000
) -> ProcessedImage:
    """Verify an uploaded photo and re-encode it without metadata, or raise ImageRejected."""
    data = bytes(data)
    if not data.strip():
        raise ImageRejected(EMPTY, "no bytes" if not data else "only whitespace")
    if len(data) > max_bytes:
        raise ImageRejected(TOO_LARGE, f"{len(data)} bytes > {max_bytes}")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(WRONG_TYPE, f"magic bytes {data[:12]!r} are not JPEG, PNG or WebP")
    jpeg = _walk_jpeg(data) if fmt == "JPEG" else None
    _refuse_foreign_content(data, _image_data_spans(data, fmt, jpeg))
    jpeg_scans = 0
    if jpeg is not None:
        jpeg_scans = _check_jpeg_structure(data, jpeg)
    elif fmt == "PNG":
        _check_png_structure(data)
    else:
        _check_webp_structure(data, max_pixels=max_pixels, max_side=max_side)

    with warnings.catch_warnings():
        # Pillow warns about odd but harmless content (corrupt EXIF, palette transparency);
        # decompression bombs become errors. Ambient filters are restored on exit.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _decode_and_encode(
                data,
                fmt,
                max_pixels=max_pixels,
                max_side=max_side,
                jpeg_scans=jpeg_scans,
            )
        except ImageRejected:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ImageRejected(TOO_MANY_PIXELS, f"Pillow: {exc}") from None
        except MemoryError:
            raise ImageRejected(TOO_MANY_PIXELS, "out of memory while decoding") from None
        except Exception as exc:  # any decoder failure on hostile input
            raise ImageRejected(DAMAGED, f"{type(exc).__name__}: {exc}") from None


# -- Structural checks on the raw bytes (before Pillow) ------------------------------------


def _refuse_foreign_content(data: bytes, image_data: list[tuple[int, int]]) -> None:
    """Refuse markup or PDF signatures in the file's header or wherever text can hide.

    Everything but the compressed image data is searched: JPEG marker segments (APPn, COM,
    tables, headers) and whatever follows the end of the image, PNG chunks other than IDAT
    and fdAT, WebP chunks other than the bitstream ones (EXIF, XMP, ICCP, unknown chunks),
    and in every format the bytes a structure walk could not account for.
    """
    searches = [(_HEADER_SIGNATURES, 0, min(len(data), _HEADER_SCAN_BYTES))]
    searches += [(_TEXT_SIGNATURES, start, stop) for start, stop in _text_regions(data, image_data)]
    for signatures, start, stop in searches:
        found = signatures.search(data[start:stop].lower())
        if found:
            raise ImageRejected(
                WRONG_TYPE,
                f"contains foreign signature {found.group()!r} at byte {start + found.start()}",
            )


def _text_regions(data: bytes, image_data: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (start, stop) ranges of `data` not covered by the sorted `image_data` spans."""
    regions, pos = [], 0
    for start, stop in image_data:
        if start > pos:
            regions.append((pos, start))
        pos = max(pos, stop)
    if pos < len(data):
        regions.append((pos, len(data)))
    return regions


def _image_data_spans(data: bytes, fmt: str, jpeg: _JpegWalk | None) -> list[tuple[int, int]]:
    """Sorted (start, stop) spans of compressed image data, which is never searched."""
    if jpeg is not None:
        return sorted(_jpeg_image_data(data, jpeg))
    if fmt == "PNG":
        return _png_image_data(data)
    return _webp_image_data(data)


def _jpeg_image_data(data: bytes, walk: _JpegWalk) -> list[tuple[int, int]]:
    """Entropy-coded data: the image's (`walk` followed its segments), that of thumbnails in
    its APPn segments (EXIF, JFXX, Photoshop) and of the JPEGs right after its end (MPF gain
    or depth maps, which follow the primary image directly)."""
    spans: list[tuple[int, int]] = []
    while True:
        spans += walk.entropy
        for payload_start, payload_stop in walk.app_payloads:
            spans += _thumbnail_image_data(data, payload_start, payload_stop)
        if walk.end is None:
            return spans
        if not data.startswith(_JPEG_MAGIC, walk.end):
            return spans
        walk = _walk_jpeg(data, walk.end)


def _thumbnail_image_data(data: bytes, start: int, stop: int) -> list[tuple[int, int]]:
    """Entropy-coded data of JPEGs inside an APPn payload (one level deep only)."""
    spans = []
    pos = data.find(_JPEG_MAGIC, start, stop)
    while pos >= 0:
        walk = _walk_jpeg(data, pos, stop)
        spans += walk.entropy
        # Resume past everything this walk consumed, so overlapping SOIs stay linear.
        pos = data.find(_JPEG_MAGIC, max(pos + 3, walk.stopped), stop)
    return spans


def _check_jpeg_structure(data: bytes, walk: _JpegWalk) -> int:
    """Refuse archive data after the end of the image; return the number of scans seen."""
    end = walk.end
    if end is None:
        # The segment structure could not be followed (the decoder will say why); fall back
        # to whatever follows the last end-of-image marker.
        last_eoi = data.rfind(b"\xff\xd9")
        end = last_eoi + 2 if last_eoi >= 0 else len(data)
    trailing = data[end:]
    for signature in _ZIP_SIGNATURES:
        if signature in trailing:
            raise ImageRejected(WRONG_TYPE, "ZIP archive data after the JPEG end-of-image marker")
    return walk.scans


@dataclass
class _JpegWalk:
    end: int | None = None  # offset past the EOI marker; None if the walk lost the structure
    stopped: int = 0  # offset where the walk ended (past EOI, or where it lost the structure)
    scans: int = 0
    entropy: list[tuple[int, int]] = field(default_factory=list)  # data after each SOS header
    app_payloads: list[tuple[int, int]] = field(default_factory=list)  # APPn segment payloads


def _walk_jpeg(data: bytes, start: int = 0, stop: int | None = None) -> _JpegWalk:
    """Follow the segments of the JPEG whose SOI is at `start`, not reading past `stop`."""
    size = len(data) if stop is None else stop
    walk = _JpegWalk()
    pos = start + 2
    while pos < size:
        marker_match = _JPEG_MARKER.match(data, pos, size)
        if marker_match is None or marker_match.group(1) is None:
            walk.stopped = marker_match.end() if marker_match else pos
            return walk
        pos = walk.stopped = marker_match.end()
        marker = data[pos - 1]
        if marker == 0xD9:  # EOI
            walk.end = pos
            return walk
        if pos + 2 > size:
            return walk
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            return walk
        if 0xE0 <= marker <= 0xEF:
            walk.app_payloads.append((pos + 2, min(pos + length, size)))
        pos += length
        if marker == 0xDA:  # SOS: entropy-coded data follows up to the next marker
            walk.scans += 1
            if pos < size:
                next_marker = _JPEG_NEXT_MARKER.search(data, pos, size)
                entropy_end = next_marker.start() if next_marker else size
                walk.entropy.append((pos, entropy_end))
                pos = entropy_end
    walk.stopped = size
    return walk


def _png_image_data(data: bytes) -> list[tuple[int, int]]:
    spans = []
    size = len(data)
    pos = len(_PNG_MAGIC)
    while pos + 8 <= size:
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk_type = data[pos + 4 : pos + 8]
        if chunk_type in _PNG_IMAGE_CHUNKS:
            spans.append((pos + 8, min(pos + 8 + length, size)))
        if chunk_type == b"IEND":
            break
        pos += 12 + length
    return spans


def _webp_image_data(data: bytes) -> list[tuple[int, int]]:
    """Bitstream chunks inside the RIFF container; bytes past its declared size are text."""
    spans = []
    size = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    pos = 12
    while pos + 8 <= size:
        chunk_type = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk_type in _WEBP_IMAGE_CHUNKS:
            spans.append((pos + 8, min(pos + 8 + length, size)))
        pos += 8 + length + (length & 1)
    return spans


def _check_png_structure(data: bytes) -> None:
    """Refuse bytes after IEND; a chunk list that runs off the end is left to the decoder."""
    size = len(data)
    pos = len(_PNG_MAGIC)
    while pos + 8 <= size:
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk_type = data[pos + 4 : pos + 8]
        pos += 12 + length
        if chunk_type == b"IEND":
            if pos < size:
                raise ImageRejected(WRONG_TYPE, f"{size - pos} bytes after the PNG IEND chunk")
            return


def _check_webp_structure(data: bytes, *, max_pixels: int, max_side: int) -> None:
    """Check the RIFF size, then the canvas size from the first chunk header.

    Pillow's WebP plugin builds a libwebp animation decoder in Image.open, which allocates
    buffers for the whole canvas before any check of ours could run, so the dimensions are
    read here from the bytes first.
    """
    riff_size = int.from_bytes(data[4:8], "little")
    if riff_size + 8 != len(data):
        raise ImageRejected(
            WRONG_TYPE, f"WebP RIFF size {riff_size} + 8 does not match length {len(data)}"
        )
    dimensions = _webp_dimensions(data)
    if dimensions is not None:
        _check_dimensions(*dimensions, max_pixels=max_pixels, max_side=max_side)


def _webp_dimensions(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    payload = data[20:40]
    if chunk == b"VP8X" and len(payload) >= 10:
        width = int.from_bytes(payload[4:7], "little") + 1
        height = int.from_bytes(payload[7:10], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(payload[6:8], "little") & 0x3FFF
        height = int.from_bytes(payload[8:10], "little") & 0x3FFF
        return width, height
    return None


def _check_dimensions(width: int, height: int, *, max_pixels: int, max_side: int) -> None:
    if width > max_side or height > max_side:
        raise ImageRejected(TOO_MANY_PIXELS, f"{width}x{height}: a side is over {max_side}")
    if width * height > max_pixels:
        raise ImageRejected(TOO_MANY_PIXELS, f"{width}x{height} is over {max_pixels} pixels")


# -- Decoding and re-encoding ---------------------------------------------------------------


def _open(data: bytes, fmt: str) -> Image.Image:
    im = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    detected = im.format
    # Pillow reports multi-picture JPEGs (MPF: phone depth maps, gain maps, stereo pairs) as
    # "MPO". They are JPEGs whose primary image is the first frame; the rest is dropped.
    if detected == "MPO" and fmt == "JPEG":
        detected = "JPEG"
    if detected != fmt:
        raise ImageRejected(WRONG_TYPE, f"Pillow detected {detected}, magic bytes say {fmt}")
    return im


def _decode_and_encode(
    data: bytes, fmt: str, *, max_pixels: int, max_side: int, jpeg_scans: int
) -> ProcessedImage:
    try:
        im = _open(data, fmt)
    except Image.UnidentifiedImageError as exc:
        raise ImageRejected(DAMAGED, f"Pillow cannot read it as {fmt}: {exc}") from None
    width, height = im.size
    # Header only so far: nothing has been decoded.
    _check_dimensions(width, height, max_pixels=max_pixels, max_side=max_side)
    if width < 1 or height < 1:
        raise ImageRejected(DAMAGED, f"{width}x{height} has no pixels")
    if im.format != "MPO" and getattr(im, "n_frames", 1) > 1:
        raise ImageRejected(ANIMATED, f"{im.n_frames} frames")
    if jpeg_scans > MAX_JPEG_SCANS:
        raise ImageRejected(DAMAGED, f"{jpeg_scans} JPEG scans (more than {MAX_JPEG_SCANS})")
    im.verify()

    im = _open(data, fmt)
    im.load()
    pixels = _oriented(im)
    clean = _clean_pixels(pixels, fmt)

    full = _encode(clean, fmt)
    display = _derivative(clean, DISPLAY_MAX)
    thumbnail = _derivative(clean, THUMBNAIL_MAX)
    mime, extension = ACCEPTED_FORMATS[fmt]
    return ProcessedImage(
        format=fmt,
        mime=mime,
        extension=extension,
        width=clean.width,
        height=clean.height,
        full=full,
        display=display,
        thumbnail=thumbnail,
        sha256=hashlib.sha256(full).hexdigest(),
    )


def _oriented(im: Image.Image) -> Image.Image:
    """The pixels as they should be displayed, per the EXIF orientation tag.

    Unreadable EXIF is not a reason to refuse a photo (it is thrown away anyway): the pixels
    are then used as stored.
    """
    try:
        return ImageOps.exif_transpose(im)
    except Exception:
        return im


def _clean_pixels(im: Image.Image, fmt: str) -> Image.Image:
    """A new 8-bit RGB or RGBA image, in sRGB, built from pixel data only (no info, no EXIF)."""
    alpha = fmt != "JPEG" and (im.mode in _ALPHA_MODES or "transparency" in im.info)
    target = "RGBA" if alpha else "RGB"
    icc_profile = im.info.get("icc_profile")
    im = _eight_bit(im)
    if alpha:
        if im.mode != "RGBA":
            im = im.convert("RGBA")
    elif im.mode not in ("RGB", "L", "CMYK"):
        im = im.convert("RGB")
    if icc_profile:
        im = _to_srgb(im, icc_profile, target)
    if im.mode != target:
        im = im.convert(target)
    return Image.frombytes(target, im.size, im.tobytes())


def _eight_bit(im: Image.Image) -> Image.Image:
    # Pillow's I;16 -> L conversion clips at 255 instead of scaling: scale it ourselves.
    if im.mode == "I" or im.mode.startswith("I;16"):
        return im.convert("I").point(lambda value: value / 256).convert("L")
    if im.mode == "F":
        return im.convert("L")
    return im


def _to_srgb(im: Image.Image, icc_profile: bytes, target: str) -> Image.Image:
    """Convert from the embedded profile to sRGB; on any failure keep the pixels as they are."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(im, source, _srgb_profile(), outputMode=target)
    except Exception:
        return im
    return converted if converted is not None else im


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _encode(clean: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        clean.save(buffer, "JPEG", exif=b"", **_JPEG_SAVE)
    elif fmt == "PNG":
        clean.save(buffer, "PNG", **_PNG_SAVE)
    else:
        clean.save(buffer, "WEBP", exif=b"", xmp=b"", icc_profile=b"", **_WEBP_SAVE)
    return buffer.getvalue()


def _derivative(clean: Image.Image, longest_side: int) -> bytes:
    derivative = clean.copy()
    derivative.info = {}
    derivative.thumbnail((longest_side, longest_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    derivative.save(buffer, "WEBP", exif=b"", xmp=b"", icc_profile=b"", **_DERIVATIVE_SAVE)
    return buffer.getvalue()
