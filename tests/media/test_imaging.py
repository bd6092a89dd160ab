"""Photo upload processing: refusals, metadata stripping, orientation, derivatives, modes."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import random
import struct
import time
import warnings
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin

from portal.media.imaging import (
    ACCEPTED_FORMATS,
    DERIVATIVE_MIME,
    DISPLAY_MAX,
    REASONS,
    THUMBNAIL_MAX,
    ImageRejected,
    ProcessedImage,
    _image_data_spans,
    _text_regions,
    _walk_jpeg,
    process_image,
    sniff_format,
)
from tests.media.hostile import (
    HOSTILE_LIMITS,
    PNG_SIGNATURE,
    encode,
    hostile_uploads,
    jpeg_bytes,
    jpeg_insert_after_soi,
    jpeg_insert_before_sos,
    jpeg_segment,
    jpeg_segments,
    noise_image,
    png_bytes,
    png_chunk,
    png_insert_before,
    png_stored,
    renamed_but_valid,
    webp_append_chunk,
    webp_bytes,
    zip_archive,
)

ROOMY = dict(max_bytes=50 * 1024 * 1024, max_pixels=10_000_000)
HAS_DEFUSEDXML = importlib.util.find_spec("defusedxml") is not None

COMMENT_TEXT = b"Meet behind the old mill at nine"
IPTC_CAPTION = b"Caption: the shelter on Rosewood Lane"
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    b' exif:GPSLatitude="51,30.2N" exif:GPSLongitude="0,7.6W"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
# What may be left in `.info` after reopening an output: container bookkeeping only.
ALLOWED_INFO = {
    "JPEG": {"jfif", "jfif_version", "jfif_unit", "jfif_density"},
    "PNG": set(),
    "WEBP": {"loop", "background", "timestamp", "duration"},
}
FORBIDDEN_INFO = ("xmp", "XML:com.adobe.xmp", "comment", "Comment", "icc_profile", "exif")
FORBIDDEN_INFO += ("photoshop", "adobe", "dpi", "Raw profile type iptc")
FORBIDDEN_BYTES = (
    b"Exif\x00\x00",
    b"GPS",
    b"http://ns.adobe.com",
    b"adobe:ns:meta",
    b"Photoshop 3.0",
    b"8BIM",
    b"ICC_PROFILE",
    b"SecretCam",
    COMMENT_TEXT,
    IPTC_CAPTION,
    b"eXIf",
    b"iCCP",
    b"tEXt",
    b"iTXt",
    b"zTXt",
)


def _reopen(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


# -- Hostile corpus -------------------------------------------------------------------------


def test_the_corpus_is_large_and_well_formed():
    uploads = hostile_uploads()
    assert len(uploads) >= 30
    assert len({upload.id for upload in uploads}) == len(uploads)
    assert {upload.reason for upload in uploads} == set(REASONS)


@pytest.mark.parametrize("upload", hostile_uploads(), ids=lambda upload: upload.id)
def test_hostile_upload_is_rejected_with_its_reason(upload):
    with pytest.raises(ImageRejected) as caught:
        process_image(upload.data, **HOSTILE_LIMITS)
    assert caught.value.reason == upload.reason, caught.value.detail
    assert caught.type is ImageRejected


def test_rejection_details_name_the_check_that_fired():
    details = {}
    for upload in hostile_uploads():
        with pytest.raises(ImageRejected) as caught:
            process_image(upload.data, **HOSTILE_LIMITS)
        details[upload.id] = caught.value.detail
    assert "ZIP" in details["jpeg-zip-polyglot"]
    assert "ZIP" in details["jpeg-zip-eoi-in-comment"]
    assert "IEND" in details["png-trailing-bytes"]
    assert "RIFF" in details["webp-wrong-riff-length"]
    assert "<svg" in details["png-svg-text-chunk"]
    assert "scans" in details["jpeg-too-many-scans"]
    # WebP dimensions are read from the bytes before Pillow builds its decoder.
    assert "Pillow" not in details["webp-vp8x-huge-canvas"]
    # Markup in metadata past the first KiB is found by the metadata search, not the header's.
    for upload_id in (
        "jpeg-svg-comment-before-scan",
        "png-svg-text-after-idat",
        "webp-xmp-svg",
        "webp-unknown-chunk-pdf",
    ):
        assert _signature_offset(details[upload_id]) >= 1024, details[upload_id]
    assert _signature_offset(details["png-html-in-stored-idat"]) < 1024


def _signature_offset(detail: str) -> int:
    assert "foreign signature" in detail, detail
    return int(detail.rsplit(" at byte ", 1)[1])


def test_renamed_but_valid_png_is_accepted_as_png():
    upload = renamed_but_valid()
    assert upload.filename.endswith(".jpg")
    result = process_image(upload.data, **HOSTILE_LIMITS)
    assert (result.format, result.mime, result.extension) == ("PNG", "image/png", "png")
    assert _reopen(result.full).format == "PNG"


def test_image_rejected_carries_reason_and_detail():
    error = ImageRejected("damaged", "bad CRC")
    assert (error.reason, error.detail) == ("damaged", "bad CRC")
    assert ImageRejected("empty").detail == ""
    with pytest.raises(ValueError):
        ImageRejected("not-a-reason")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_mutated_images_never_raise_anything_but_image_rejected(fmt):
    original = encode(noise_image((24, 16)), fmt)
    rng = random.Random(fmt)
    candidates = [original[:cut] for cut in range(0, len(original), max(1, len(original) // 25))]
    for _ in range(40):
        mutant = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            mutant[rng.randrange(len(mutant))] = rng.randrange(256)
        candidates.append(bytes(mutant))
    for candidate in candidates:
        try:
            result = process_image(candidate, **HOSTILE_LIMITS)
        except ImageRejected as error:
            assert error.reason in REASONS
        else:
            assert isinstance(result, ProcessedImage)


def test_pillow_global_state_is_left_alone():
    filters_before = list(warnings.filters)
    max_pixels_before = Image.MAX_IMAGE_PIXELS
    for upload in hostile_uploads()[:12]:
        with pytest.raises(ImageRejected):
            process_image(upload.data, **HOSTILE_LIMITS)
    process_image(png_bytes(), **HOSTILE_LIMITS)
    assert warnings.filters == filters_before
    pillow_state = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    assert pillow_state == (max_pixels_before, False)


# -- Format sniffing and structure ----------------------------------------------------------


def test_sniff_format():
    assert sniff_format(jpeg_bytes()) == "JPEG"
    assert sniff_format(png_bytes()) == "PNG"
    assert sniff_format(webp_bytes()) == "WEBP"
    assert sniff_format(b"GIF89a") is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert sniff_format(b"") is None


def test_jpeg_with_harmless_trailing_bytes_is_accepted_and_the_trailer_dropped():
    trailer = b"\x00\x01TRAILER" * 8
    result = process_image(jpeg_bytes() + trailer, **HOSTILE_LIMITS)
    assert trailer not in result.full


def test_zip_signature_inside_the_jpeg_before_its_end_is_not_a_polyglot():
    # An APP segment may hold anything; only data after the end of image is an archive.
    segment = jpeg_segment(0xEB, b"PK\x03\x04 not really an archive")
    result = process_image(jpeg_insert_after_soi(jpeg_bytes(), segment), **HOSTILE_LIMITS)
    assert b"PK\x03\x04" not in result.full


def test_zip_after_an_embedded_thumbnail_end_marker_is_still_found():
    # An EXIF thumbnail puts an FF D9 inside APP1; the archive after the real end is caught.
    thumbnail = jpeg_bytes((8, 8))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera"
    segment = jpeg_segment(0xE1, b"Exif\x00\x00" + exif.tobytes()[6:] + thumbnail)
    data = jpeg_insert_after_soi(jpeg_bytes(), segment)
    assert Image.open(io.BytesIO(data)).getexif()[ExifTags.Base.Make] == "Camera"
    process_image(data, **HOSTILE_LIMITS)
    with pytest.raises(ImageRejected) as caught:
        process_image(data + zip_archive(), **HOSTILE_LIMITS)
    assert caught.value.reason == "wrong_type"
    assert "ZIP" in caught.value.detail


def test_multi_picture_jpeg_is_a_jpeg_not_an_animation():
    primary = Image.new("RGB", (16, 16), (255, 0, 0))
    secondary = Image.new("RGB", (16, 16), (0, 0, 255))
    data = encode(primary, "MPO", save_all=True, append_images=[secondary])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    result = process_image(data, **HOSTILE_LIMITS)
    assert result.format == "JPEG"
    red, green, blue = _reopen(result.full).getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


# -- Foreign signatures: searched in metadata and trailers, not in compressed image data -----

# Compressed image data looks random: a 4-byte signature turns up in it by chance about once
# per 500 MB, so a photo must not be refused for holding one there.
SIGNATURES = (b"<svg", b"<SCRIPT", b"%PDF-")
HEADER_BYTES = 1024  # always searched, image data included, for the longer signatures


def _overwrite(data: bytes, start: int, stop: int, payloads=SIGNATURES) -> bytes:
    """Write each payload into data[start:stop], spaced out, neither over nor right after a
    0xFF byte (in a JPEG scan that would make a marker or break a stuffed 0xFF 0x00)."""
    out = bytearray(data)
    pos = start
    for payload in payloads:
        while out[pos - 1] == 0xFF or 0xFF in out[pos : pos + len(payload)]:
            pos += 1
        out[pos : pos + len(payload)] = payload
        pos += len(payload) + 97
    assert pos <= stop, "not enough image data to write into"
    return bytes(out)


def _sos_data_start(data: bytes) -> int:
    """Offset of the entropy-coded data after the first SOS header."""
    return jpeg_segments(data)[-1][2]


def _jpeg_with_signatures_in_scan(size=(96, 64)) -> bytes:
    # Overwriting part of a scan gives garbled but decodable pixels: libjpeg only warns.
    data = jpeg_bytes(size)
    return _overwrite(data, max(_sos_data_start(data), HEADER_BYTES + 64), len(data) - 2)


def _png_with_signatures_in_pixels() -> bytes:
    # A stored (level 0) zlib stream: the scanlines, signatures included, are the IDAT bytes.
    rng = random.Random(5)
    rows = [rng.randbytes(3 * 64) for _ in range(64)]
    rows[1] = b"<svg!" + rows[1][5:]  # in the first KiB, but too short for the header search
    for index, signature in zip((20, 40, 60), SIGNATURES, strict=True):
        rows[index] = signature + rows[index][len(signature) :]
    return png_stored(rows)


def _webp_with_signatures_in_bitstream() -> bytes:
    data = webp_bytes((96, 64))
    start = data.index(b"VP8 ") + 8
    stop = start + struct.unpack("<I", data[start - 4 : start])[0]
    return _overwrite(data, max(start, HEADER_BYTES + 64), stop)


WITH_SIGNATURES_IN_IMAGE_DATA = {
    "JPEG": _jpeg_with_signatures_in_scan,
    "PNG": _png_with_signatures_in_pixels,
    "WEBP": _webp_with_signatures_in_bitstream,
}


@pytest.mark.parametrize("fmt", list(WITH_SIGNATURES_IN_IMAGE_DATA))
def test_signatures_inside_compressed_image_data_are_accepted(fmt):
    data = WITH_SIGNATURES_IN_IMAGE_DATA[fmt]()
    for signature in SIGNATURES:
        assert data.rfind(signature) >= HEADER_BYTES, signature
    result = process_image(data, **HOSTILE_LIMITS)
    assert result.format == fmt
    if fmt == "PNG":  # lossless: the signatures really are pixels
        pixels = _reopen(result.full).tobytes()
        assert all(signature in pixels for signature in SIGNATURES)


def test_signatures_in_an_exif_thumbnail_scan_are_accepted_but_not_beside_it():
    thumbnail = _jpeg_with_signatures_in_scan((64, 48))
    assert all(signature in thumbnail for signature in SIGNATURES)

    def with_app1(extra: bytes) -> bytes:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "Camera"
        payload = b"Exif\x00\x00" + exif.tobytes()[6:] + extra + thumbnail
        return jpeg_insert_after_soi(jpeg_bytes((32, 32)), jpeg_segment(0xE1, payload))

    assert process_image(with_app1(b""), **HOSTILE_LIMITS).format == "JPEG"
    with pytest.raises(ImageRejected) as caught:
        process_image(with_app1(b"<svg/>"), **HOSTILE_LIMITS)
    assert caught.value.reason == "wrong_type"


def test_signatures_in_a_multi_picture_secondary_image_are_accepted_but_not_after_it():
    secondary = noise_image((64, 64), seed=3)
    data = encode(noise_image((64, 64)), "MPO", save_all=True, append_images=[secondary])
    secondary_scan = data.rindex(b"\xff\xda")
    header_length = struct.unpack(">H", data[secondary_scan + 2 : secondary_scan + 4])[0]
    data = _overwrite(data, secondary_scan + 2 + header_length, len(data) - 2)
    assert process_image(data, **HOSTILE_LIMITS).format == "JPEG"
    with pytest.raises(ImageRejected) as caught:
        process_image(data + b"<svg/>", **HOSTILE_LIMITS)
    assert caught.value.reason == "wrong_type"


def _in_metadata(container: str, text: bytes) -> bytes:
    """A genuine image carrying `text` in one metadata segment or chunk, past the first KiB."""
    if container == "JPEG COM":
        data = jpeg_bytes((96, 64), comment=b"x" * 1200)
        return jpeg_insert_before_sos(data, jpeg_segment(0xFE, text))
    if container == "JPEG APP1 XMP":
        data = jpeg_bytes((96, 64), comment=b"x" * 1200)
        xmp = b"http://ns.adobe.com/xap/1.0/\x00" + XMP.replace(b"51,30.2N", text)
        return jpeg_insert_before_sos(data, jpeg_segment(0xE1, xmp))
    if container == "PNG tEXt":
        chunk = png_chunk(b"tEXt", b"Comment\x00" + text)
        return png_insert_before(png_bytes((48, 32)), b"IEND", chunk)
    if container == "WEBP XMP":
        return webp_bytes((96, 64), xmp=XMP.replace(b"51,30.2N", text))
    if container == "WEBP EXIF":
        exif = Image.Exif()
        exif[ExifTags.Base.ImageDescription] = text.decode()
        return webp_bytes((96, 64), exif=exif.tobytes())
    assert container == "WEBP unknown chunk"
    return webp_append_chunk(webp_bytes((96, 64)), b"NOTE", text)


METADATA_CONTAINERS = (
    "JPEG COM",
    "JPEG APP1 XMP",
    "PNG tEXt",
    "WEBP XMP",
    "WEBP EXIF",
    "WEBP unknown chunk",
)


@pytest.mark.parametrize("container", METADATA_CONTAINERS)
def test_metadata_without_markup_is_accepted(container):
    data = _in_metadata(container, b"a harmless caption")
    assert b"a harmless caption" in data
    assert process_image(data, **HOSTILE_LIMITS).format == container.split()[0]


@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("container", METADATA_CONTAINERS)
def test_signatures_in_metadata_are_refused(container, signature):
    text = b"a caption " + signature + b" and more"
    data = _in_metadata(container, text)
    assert data.find(text) >= HEADER_BYTES
    with pytest.raises(ImageRejected) as caught:
        process_image(data, **HOSTILE_LIMITS)
    assert caught.value.reason == "wrong_type"
    assert repr(signature.lower()) in caught.value.detail
    assert _signature_offset(caught.value.detail) >= HEADER_BYTES


@pytest.mark.parametrize(
    ("pixels", "refused"),
    [
        (b"<svg!", False),
        (b"<svgz", False),
        (b"<svg ", True),
        (b"<SVG>", True),
        (b"<svg/", True),
        (b"<script", True),
        (b"<html", True),
        (b"%PDF-", True),
        (b"<?php", True),
        (b"javascript:", True),
    ],
)
def test_the_first_kib_is_searched_even_in_image_data_for_the_longer_signatures(pixels, refused):
    rows = [bytes(3 * 32) for _ in range(32)]
    rows[4] = pixels.ljust(3 * 32, b"\x00")
    data = png_stored(rows)
    assert data.find(pixels) < HEADER_BYTES
    if not refused:
        assert process_image(data, **HOSTILE_LIMITS).format == "PNG"
        return
    with pytest.raises(ImageRejected) as caught:
        process_image(data, **HOSTILE_LIMITS)
    assert caught.value.reason == "wrong_type"
    assert _signature_offset(caught.value.detail) < HEADER_BYTES


def test_only_compressed_image_data_is_left_out_of_the_search():
    jpeg = encode(noise_image((48, 32)), "JPEG", progressive=True, comment=b"note")
    spans = _image_data_spans(jpeg, "JPEG", _walk_jpeg(jpeg))
    assert len(spans) == jpeg.count(b"\xff\xda") > 1  # one per scan
    for start, stop in spans:
        sos = jpeg.rindex(b"\xff\xda", 0, start)
        assert start == sos + 2 + struct.unpack(">H", jpeg[sos + 2 : sos + 4])[0]
        assert jpeg[stop] == 0xFF and jpeg[stop + 1] not in (0x00, *range(0xD0, 0xD8))
    regions = _text_regions(jpeg, spans)
    assert regions[0] == (0, spans[0][0])  # SOI, APPn, COM, tables and the first SOS header
    assert regions[-1] == (spans[-1][1], len(jpeg))  # EOI and whatever follows it
    assert b"note" in jpeg[slice(*regions[0])]

    png = png_insert_before(png_bytes(), b"IEND", png_chunk(b"tEXt", b"k\x00v"))
    idat = png.index(b"IDAT") + 4
    idat_length = struct.unpack(">I", png[idat - 8 : idat - 4])[0]
    assert _image_data_spans(png, "PNG", None) == [(idat, idat + idat_length)]

    webp = webp_bytes((32, 24), xmp=XMP)
    vp8 = webp.index(b"VP8 ") + 8
    vp8_length = struct.unpack("<I", webp[vp8 - 4 : vp8])[0]
    assert _image_data_spans(webp, "WEBP", None) == [(vp8, vp8 + vp8_length)]
    assert _text_regions(webp, [(vp8, vp8 + vp8_length)])[-1] == (vp8 + vp8_length, len(webp))


def test_thumbnail_search_stays_linear_on_runs_of_start_markers():
    # Every FF D8 FF in an APPn segment could start a thumbnail; walking each of them to the
    # end of its segment took minutes on this 2 MB file.
    segment = jpeg_segment(0xE1, b"\xff\xd8" * 32000)
    data = jpeg_insert_after_soi(jpeg_bytes(), segment * 30)
    started = time.perf_counter()
    assert process_image(data, max_bytes=len(data), max_pixels=10**6).format == "JPEG"
    assert time.perf_counter() - started < 5


# -- Metadata -------------------------------------------------------------------------------


def _exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return exif


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _iptc_segment() -> bytes:
    record = b"\x1c\x02\x78" + struct.pack(">H", len(IPTC_CAPTION)) + IPTC_CAPTION
    if len(record) % 2:
        record += b"\x00"
    block = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    return jpeg_segment(0xED, b"Photoshop 3.0\x00" + block)


def _jpeg_with_everything(size=(40, 20), orientation: int = 6) -> bytes:
    data = encode(
        noise_image(size),
        "JPEG",
        quality=90,
        exif=_exif(orientation).tobytes(),
        xmp=XMP,
        comment=COMMENT_TEXT,
        icc_profile=_srgb_icc(),
    )
    return jpeg_insert_after_soi(data, _iptc_segment())


def _png_with_everything(size=(40, 20), orientation: int = 6) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add_text("Comment", COMMENT_TEXT.decode())
    info.add_text("Raw profile type iptc", "\niptc\n 8BIM " + IPTC_CAPTION.hex() + "\n")
    return encode(
        noise_image(size, "RGBA"),
        "PNG",
        pnginfo=info,
        exif=_exif(orientation).tobytes(),
        icc_profile=_srgb_icc(),
    )


def _webp_with_everything(size=(40, 20), orientation: int = 6) -> bytes:
    return encode(
        noise_image(size),
        "WEBP",
        exif=_exif(orientation).tobytes(),
        xmp=XMP,
        icc_profile=_srgb_icc(),
    )


WITH_EVERYTHING = {
    "JPEG": _jpeg_with_everything,
    "PNG": _png_with_everything,
    "WEBP": _webp_with_everything,
}


@pytest.mark.parametrize("fmt", list(WITH_EVERYTHING))
def test_fixture_really_carries_the_metadata(fmt):
    data = WITH_EVERYTHING[fmt]()
    im = _reopen(data)
    exif = im.getexif()
    assert exif[ExifTags.Base.Orientation] == 6
    assert exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert im.info.get("icc_profile")
    assert im.info.get("xmp")
    assert b"GPS" in data or b"\x88\x25" in data
    if fmt == "JPEG":
        assert im.info["comment"] == COMMENT_TEXT
        assert im.info["photoshop"][0x0404].endswith(IPTC_CAPTION) or IPTC_CAPTION in data
    if fmt == "PNG":
        assert im.info["Comment"] == COMMENT_TEXT.decode()


@pytest.mark.parametrize("fmt", list(WITH_EVERYTHING))
@pytest.mark.parametrize("output", ["full", "display", "thumbnail"])
def test_no_metadata_survives(fmt, output):
    result = process_image(WITH_EVERYTHING[fmt](), **HOSTILE_LIMITS)
    data = getattr(result, output)
    im = _reopen(data)
    expected_format = fmt if output == "full" else "WEBP"
    assert im.format == expected_format
    assert len(im.getexif()) == 0
    for key in FORBIDDEN_INFO:
        assert key not in im.info, key
    assert set(im.info) <= ALLOWED_INFO[expected_format], im.info
    if HAS_DEFUSEDXML:
        assert im.getxmp() == {}
    for needle in FORBIDDEN_BYTES:
        assert needle not in data, needle
    if expected_format == "WEBP":
        for chunk in (b"EXIF", b"XMP ", b"ICCP"):
            assert chunk not in data, chunk


def test_image_with_an_unreadable_icc_profile_is_accepted_without_it():
    data = encode(noise_image((16, 16)), "JPEG", icc_profile=b"definitely not a profile" * 8)
    assert _reopen(data).info.get("icc_profile")
    result = process_image(data, **HOSTILE_LIMITS)
    assert "icc_profile" not in _reopen(result.full).info


def test_unreadable_exif_is_ignored_not_fatal():
    data = encode(noise_image((16, 16)), "JPEG", exif=b"Exif\x00\x00MM\x00*\xff\xff\xff\xff")
    result = process_image(data, **HOSTILE_LIMITS)
    assert (result.width, result.height) == (16, 16)
    assert b"Exif\x00\x00" not in result.full


# -- Orientation ----------------------------------------------------------------------------


def _red_left_blue_right(size=(40, 20)) -> Image.Image:
    im = Image.new("RGB", size, (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return im


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_orientation_is_applied_to_the_pixels(fmt):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # stored pixels must turn 90 degrees clockwise
    data = encode(_red_left_blue_right(), fmt, exif=exif.tobytes())
    result = process_image(data, **HOSTILE_LIMITS)
    assert (result.width, result.height) == (20, 40)
    for output in (result.full, result.display, result.thumbnail):
        im = _reopen(output).convert("RGB")
        assert im.size == (20, 40)
        top, bottom = im.getpixel((10, 5)), im.getpixel((10, 34))
        assert top[0] > 200 and top[2] < 60, top
        assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_metadata_fixture_orientation_is_applied():
    result = process_image(_jpeg_with_everything(), **HOSTILE_LIMITS)
    assert (result.width, result.height) == (20, 40)
    assert _reopen(result.full).size == (20, 40)


# -- Derivatives, hashing, determinism ------------------------------------------------------


@pytest.fixture(scope="module")
def large_jpeg() -> bytes:
    gradient = Image.linear_gradient("L").resize((3000, 2000))
    im = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    return encode(im, "JPEG", quality=85)


@pytest.fixture(scope="module")
def large_result(large_jpeg) -> ProcessedImage:
    return process_image(large_jpeg, **ROOMY)


def test_large_image_derivatives_are_downscaled_webp(large_result):
    assert (large_result.width, large_result.height) == (3000, 2000)
    assert _reopen(large_result.full).size == (3000, 2000)
    display = _reopen(large_result.display)
    thumbnail = _reopen(large_result.thumbnail)
    assert display.format == thumbnail.format == "WEBP"
    assert DERIVATIVE_MIME == "image/webp"
    assert max(display.size) == DISPLAY_MAX == 1600
    assert max(thumbnail.size) == THUMBNAIL_MAX == 320
    assert display.size == (1600, 1067)
    assert thumbnail.size == (320, 213)


def test_small_image_is_not_upscaled():
    result = process_image(encode(noise_image((100, 50)), "JPEG"), **HOSTILE_LIMITS)
    assert _reopen(result.display).size == (100, 50)
    assert _reopen(result.thumbnail).size == (100, 50)


def test_sha256_is_of_full(large_result):
    assert large_result.sha256 == hashlib.sha256(large_result.full).hexdigest()


@pytest.mark.parametrize("fmt", list(WITH_EVERYTHING))
def test_processing_is_deterministic(fmt):
    data = WITH_EVERYTHING[fmt]()
    first = process_image(data, **HOSTILE_LIMITS)
    second = process_image(data, **HOSTILE_LIMITS)
    assert first == second
    assert first.sha256 == hashlib.sha256(first.full).hexdigest()


def test_large_image_processing_is_deterministic(large_jpeg, large_result):
    assert process_image(large_jpeg, **ROOMY) == large_result


# -- Formats and modes ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(ACCEPTED_FORMATS))
def test_each_format_keeps_its_format(fmt):
    result = process_image(encode(noise_image((30, 20)), fmt), **HOSTILE_LIMITS)
    assert result.format == fmt
    assert (result.mime, result.extension) == ACCEPTED_FORMATS[fmt]
    assert _reopen(result.full).format == fmt


def _half_transparent(size=(20, 10)) -> Image.Image:
    im = Image.new("RGBA", size, (0, 128, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1]))
    return im


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_transparency_keeps_an_alpha_channel(fmt):
    result = process_image(encode(_half_transparent(), fmt), **HOSTILE_LIMITS)
    for output in (result.full, result.display, result.thumbnail):
        im = _reopen(output)
        assert im.mode == "RGBA"
        assert im.getpixel((2, 5))[3] == 0
        assert im.getpixel((17, 5))[3] == 255


def test_cmyk_jpeg_comes_out_as_rgb_jpeg():
    data = encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")
    assert _reopen(data).mode == "CMYK"
    result = process_image(data, **HOSTILE_LIMITS)
    im = _reopen(result.full)
    assert (im.format, im.mode) == ("JPEG", "RGB")
    red, green, blue = im.getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


def test_grayscale_jpeg_is_accepted():
    result = process_image(encode(Image.new("L", (16, 16), 100), "JPEG"), **HOSTILE_LIMITS)
    im = _reopen(result.full)
    assert im.mode == "RGB"
    assert abs(im.getpixel((8, 8))[0] - 100) <= 3


def test_16_bit_grayscale_png_is_scaled_not_clipped():
    data = encode(Image.new("I;16", (16, 16), 40000), "PNG")
    assert _reopen(data).mode == "I;16"
    result = process_image(data, **HOSTILE_LIMITS)
    im = _reopen(result.full)
    assert (im.format, im.mode) == ("PNG", "RGB")
    assert im.getpixel((8, 8)) == (156, 156, 156)  # 40000 / 256


def test_16_bit_rgb_png_is_accepted():
    width, height = 4, 3
    row = b"\x00" + struct.pack(">HHH", 0xFFFF, 0x8000, 0x0000) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    data = (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(row * height))
        + png_chunk(b"IEND", b"")
    )
    result = process_image(data, **HOSTILE_LIMITS)
    assert _reopen(result.full).getpixel((1, 1)) == (255, 128, 0)


def test_paletted_png_is_accepted():
    data = encode(noise_image((16, 16)).convert("P"), "PNG")
    assert _reopen(data).mode == "P"
    result = process_image(data, **HOSTILE_LIMITS)
    assert _reopen(result.full).mode == "RGB"


def test_paletted_png_with_transparency_keeps_it():
    im = Image.new("P", (16, 16), 1)
    im.putpalette([0, 0, 0, 255, 0, 0])
    im.paste(0, (0, 0, 8, 16))
    data = encode(im, "PNG", transparency=0)
    result = process_image(data, **HOSTILE_LIMITS)
    out = _reopen(result.full)
    assert out.mode == "RGBA"
    assert out.getpixel((2, 2))[3] == 0
    assert out.getpixel((12, 2)) == (255, 0, 0, 255)


@pytest.mark.parametrize("mode", ["1", "L", "LA"])
def test_other_png_modes_are_accepted(mode):
    result = process_image(encode(Image.new(mode, (16, 16)), "PNG"), **HOSTILE_LIMITS)
    assert _reopen(result.full).mode == ("RGBA" if mode == "LA" else "RGB")


# -- Limits ---------------------------------------------------------------------------------


def test_exactly_max_pixels_is_accepted_and_one_more_refused():
    exact = encode(noise_image((100, 100)), "PNG")
    process_image(exact, max_bytes=10**6, max_pixels=10_000)
    one_more = encode(noise_image((73, 137)), "PNG")  # 10 001 pixels
    with pytest.raises(ImageRejected) as caught:
        process_image(one_more, max_bytes=10**6, max_pixels=10_000)
    assert caught.value.reason == "too_many_pixels"


def test_exactly_max_side_is_accepted_and_one_more_refused():
    process_image(encode(noise_image((50, 10)), "PNG"), **ROOMY, max_side=50)
    with pytest.raises(ImageRejected) as caught:
        process_image(encode(noise_image((10, 51)), "PNG"), **ROOMY, max_side=50)
    assert caught.value.reason == "too_many_pixels"


def test_exactly_max_bytes_is_accepted_and_one_more_refused():
    data = png_bytes()
    process_image(data, max_bytes=len(data), max_pixels=10**6)
    with pytest.raises(ImageRejected) as caught:
        process_image(data, max_bytes=len(data) - 1, max_pixels=10**6)
    assert caught.value.reason == "too_large"
