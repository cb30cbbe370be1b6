"""A code as short text for a link: base64url of its float16 numbers, little-endian, unpadded.

32 dimensions are 64 bytes, 86 characters: short enough for a URL a person shares. float16
keeps about three significant digits, finer than a slider's step (a two-hundredth of a
dimension's range), so the decoded picture is the same to the eye.
"""

from __future__ import annotations

import base64
import binascii
import re

import numpy as np
import torch

from ae_core.errors import OneLineError

MAX_DIMENSIONS = 4096  # a longer text is refused before decoding: no model here has more
FLOAT16_MAX = 65504.0
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class CodeTextError(OneLineError):
    """Text that is not a code: wrong characters, a broken length, numbers that are not finite,
    or another number of dimensions than the model's."""


def code_to_text(code: torch.Tensor) -> str:
    """(D,) code -> base64url text of its float16 values, without '=' padding."""
    if code.ndim != 1 or len(code) == 0:
        raise CodeTextError(f"a code is one row of numbers, not shape {tuple(code.shape)}")
    values = code.detach().float().cpu()
    if not bool(torch.isfinite(values).all()) or float(values.abs().max()) > FLOAT16_MAX:
        raise CodeTextError("the code has values float16 cannot hold (beyond ±65504 or NaN)")
    halves = values.numpy().astype("<f2")
    return base64.urlsafe_b64encode(halves.tobytes()).decode("ascii").rstrip("=")


def code_from_text(text: str, latent_dim: int | None = None) -> torch.Tensor:
    """base64url text -> (D,) float32 code; `latent_dim`, when given, must be D.

    Raises CodeTextError on anything else, with what is wrong in one line.
    """
    if not text:
        raise CodeTextError("the code is empty")
    if len(text) > (MAX_DIMENSIONS * 2 * 4 + 2) // 3:
        raise CodeTextError(f"the code is too long ({len(text)} characters)")
    if not _ALPHABET.fullmatch(text):
        raise CodeTextError("the code has characters base64url does not use")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise CodeTextError(f"the code is not base64url ({error})") from None
    if len(raw) % 2:
        raise CodeTextError(f"the code's {len(raw)} bytes are not whole float16 numbers")
    values = np.frombuffer(raw, dtype="<f2")
    if not np.isfinite(values).all():
        raise CodeTextError("the code has numbers that are not finite")
    if latent_dim is not None and len(values) != latent_dim:
        raise CodeTextError(f"the code has {len(values)} numbers; this model's has {latent_dim}")
    return torch.from_numpy(values.astype(np.float32))


def code_to_text_length(dimensions: int) -> int:
    """Characters of the text of a `dimensions`-number code: 86 for 32."""
    return -(-dimensions * 2 * 4 // 3)


def restore_unmoved(code: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(D,) code read from text, with every number equal to `reference`'s at float16 precision
    given `reference`'s exact value: what the link did not move comes back unmoved."""
    same = code == reference.float().half().float()
    return torch.where(same, reference.float(), code)
