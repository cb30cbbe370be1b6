"""One guard for everything read from a file or a link: JSON, whole numbers, images.

Whatever a stranger's file or link holds is checked against stated limits *before* the work
that could blow up on it: a JSON text's size and bracket depth before it is parsed (Python's
parser recurses, and 50,000 nested brackets end in a RecursionError), a number's digits before
`int()` of it (a 5,000-digit string is a ValueError from Python's int-str limit, a bigger one
costs quadratic time), an image's width x height from its header before a pixel is decoded.
Every refusal is a `GuardError`: one line, fit for a page's note or the command line.

    values = parse_json(text, "metadata 'info'", max_bytes=MAX_JSON_BYTES)
    digit = whole_number(link_text, 0, 9_999, "digit")
    image = open_image(data, max_pixels=16_000_000)  # decoded, first frame, right way up

No streamlit here. `check_image_header` is a plain function on a lazily opened PIL image, so
any loader (a drawing, an image folder, a zip) can call it before it decodes.
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
import warnings
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from ae_core.errors import OneLineError

MAX_JSON_BYTES = 1_000_000  # one metadata field of a checkpoint (shipped ones: under 2 KB)
MAX_DEPTH = 32  # nested arrays/objects; shipped files use 3, Python's parser fails near 1,000s
MAX_INT_DIGITS = 30  # an integer in a file with more digits than this is refused unread
MAX_PIXELS = 16_000_000  # width x height of a picture (a 12 MP phone photo passes)
# Bytes a decoded picture may take: 16 MP at 4 bytes (a 16-bit or RGBA picture) is 64 MB;
# the work after decoding (grey levels, float copies) takes a few times that.
MAX_DECODED_BYTES = 64 * 1024 * 1024
IMAGE_FORMATS = ("PNG", "JPEG", "MPO")  # MPO: a phone's multi-picture JPEG (its first is read)
# Bytes per pixel of PIL's modes (the ones not listed take 4).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2,
               "I;16N": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3}
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# One picture is decoded at a time in this process: five visitors uploading at once wait for
# each other rather than holding five decoded pictures in memory together.
_DECODING = threading.RLock()


class GuardError(OneLineError):
    """What a file or a link holds is outside what Latent Lab reads; the message says which
    limit, in one line."""


class NotJSONError(GuardError):
    """A text that is not JSON at all; `detail` says where the parser stopped."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what} is not valid JSON ({detail})")
        self.detail = detail


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings are
    not counted); linear, no recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub('""', text))
    depth = deepest = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise GuardError(f"{name} is not a finite number")


def _checked_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise GuardError(f"an integer of {len(text.lstrip('-')):,} digits; at most "
                         f"{MAX_INT_DIGITS}")
    return int(text)


def _checked_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise GuardError(f"{text[:24]} is not a finite number")
    return value


def parse_json(raw: str | bytes, what: str = "the file", max_bytes: int = MAX_JSON_BYTES,
               max_depth: int = MAX_DEPTH, finite: bool = True) -> Any:
    """JSON text -> its value, refusing (GuardError naming `what`) a text over `max_bytes`,
    nested deeper than `max_depth`, or holding NaN, Infinity, a number too large for a float
    or an integer of more than MAX_INT_DIGITS digits; malformed JSON says where. With
    `finite=False` NaN and infinities are read (as Python's json does) for the caller to drop,
    as a checkpoint's metrics are (a diverged run's loss may be NaN)."""
    if len(raw) > max_bytes:
        raise GuardError(f"{what} is {len(raw):,} bytes; at most {max_bytes:,}")
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise NotJSONError(what, "not UTF-8 text") from None
    depth = json_depth(raw)
    if depth > max_depth:
        raise GuardError(f"{what} is nested {depth:,} deep; at most {max_depth}")
    try:
        if not finite:
            return json.loads(raw, parse_int=_checked_int)
        return json.loads(raw, parse_constant=_refuse_constant, parse_int=_checked_int,
                          parse_float=_checked_float)
    except GuardError as error:
        raise GuardError(f"{what}: {error}") from None
    except (ValueError, RecursionError) as error:
        raise NotJSONError(what, str(error).splitlines()[0][:80]) from None


def whole_number(text: str, low: int, high: int, what: str = "the number") -> int:
    """A decimal text -> int in low..high (low >= 0); GuardError otherwise. The digits are
    counted before `int()` is called, so a text of any length costs nothing."""
    digits = len(str(high))
    if not (isinstance(text, str) and text.isascii() and text.isdigit()) or len(text) > digits:
        raise GuardError(f"{what} is not a whole number from {low} to {high:,}")
    value = int(text)
    if not low <= value <= high:
        raise GuardError(f"{what} is not a whole number from {low} to {high:,}")
    return value


def check_image_header(image: Image.Image, what: str = "The picture",
                       max_pixels: int = MAX_PIXELS,
                       max_decoded_bytes: int = MAX_DECODED_BYTES,
                       formats: tuple[str, ...] = IMAGE_FORMATS) -> None:
    """Refuse (GuardError) a lazily opened picture by its header alone: its format, its
    width x height and the bytes its decoded pixels would take. Nothing is decoded."""
    if formats and image.format not in formats:
        raise GuardError(f"{what} is a {image.format or 'unknown'} picture: use a "
                         f"{_names(formats)}")
    width, height = image.size
    if width < 1 or height < 1:
        raise GuardError(f"{what} is {width}x{height} pixels: empty")
    if width * height > max_pixels:
        raise GuardError(f"{what} is {width}x{height} pixels; the limit is "
                         f"{max_pixels / 1e6:g} megapixels")
    decoded = width * height * _MODE_BYTES.get(image.mode, 4)
    if decoded > max_decoded_bytes:
        raise GuardError(f"{what} would take {decoded / 2**20:.0f} MB decoded ({width}x{height} "
                         f"{image.mode}); the limit is {max_decoded_bytes / 2**20:.0f} MB")


def _names(formats: tuple[str, ...]) -> str:
    return " or ".join(name for name in formats if name != "MPO")  # an MPO is a JPEG


def one_at_a_time() -> threading.RLock:
    """The lock a picture's decoding holds: hold it around the work on a decoded picture too,
    so that memory is taken by one picture at a time in this process."""
    return _DECODING


def open_image(data: bytes, what: str = "The picture", max_bytes: int = 5 * 1024 * 1024,
               max_pixels: int = MAX_PIXELS, max_decoded_bytes: int = MAX_DECODED_BYTES,
               formats: tuple[str, ...] = IMAGE_FORMATS) -> Image.Image:
    """Bytes -> one decoded picture (a multi-picture file's first, turned by its EXIF), its
    header checked by `check_image_header` first; one picture decodes at a time."""
    if not data:
        raise GuardError(f"{what} is an empty file")
    if len(data) > max_bytes:
        raise GuardError(f"{what} is {len(data) / 2**20:.1f} MB; the limit is "
                         f"{max_bytes / 2**20:g} MB")
    try:
        with warnings.catch_warnings():  # PIL warns past Image.MAX_IMAGE_PIXELS: refuse
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        # PIL itself refuses a header past 2 x Image.MAX_IMAGE_PIXELS while opening.
        raise GuardError(f"{what} is not a picture this app can read (or is far too large): "
                         f"use a {_names(formats)}") from None
    check_image_header(image, what, max_pixels, max_decoded_bytes, formats)
    with _DECODING:
        try:
            image.seek(0)  # an MPO's (or any multi-frame file's) first picture
            image.load()
            return ImageOps.exif_transpose(image)  # a phone photo the right way up
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) \
                as error:
            raise GuardError(f"{what} is damaged ({str(error).splitlines()[0][:80]})") \
                from None
