"""A code as link text: the round trip, its length, and every malformed text refused in a line."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from ae_core.code_text import (
    CodeTextError,
    code_from_text,
    code_to_text,
    code_to_text_length,
    restore_unmoved,
)


def test_a_32_number_code_is_86_characters_and_comes_back_to_float16_precision():
    code = torch.randn(32, generator=torch.Generator().manual_seed(0)) * 3
    text = code_to_text(code)
    assert len(text) == 86 == code_to_text_length(32)
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    back = code_from_text(text, latent_dim=32)
    assert back.dtype == torch.float32 and back.shape == (32,)
    torch.testing.assert_close(back, code, rtol=1e-3, atol=1e-4)
    assert code_to_text(back) == text  # float16 values survive exactly


@pytest.mark.parametrize("dimensions", [1, 2, 3, 10, 16, 64])
def test_every_length_round_trips(dimensions):
    code = torch.linspace(-4, 4, dimensions)
    text = code_to_text(code)
    assert len(text) == code_to_text_length(dimensions)
    torch.testing.assert_close(code_from_text(text), code, rtol=1e-3, atol=1e-3)


def _text(values) -> str:
    raw = np.asarray(values, dtype="<f2").tobytes()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(("text", "latent_dim", "says"), [
    ("", None, "empty"),
    ("abc!", None, "characters"),
    ("a b", None, "characters"),
    ("AAAA====", None, "characters"),
    ("A", None, "base64url"),
    ("AA", None, "whole float16"),  # one byte
    ("AAAAA", None, "base64url"),
    (_text([1.0, np.nan]), None, "not finite"),
    (_text([np.inf]), None, "not finite"),
    (_text([0.5] * 8), 32, "8 numbers; this model's has 32"),
    ("A" * 20_000, None, "too long"),
])
def test_malformed_text_is_refused_with_one_line(text, latent_dim, says):
    with pytest.raises(CodeTextError, match=says) as caught:
        code_from_text(text, latent_dim)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_codes_float16_cannot_hold_are_refused():
    with pytest.raises(CodeTextError, match="65504"):
        code_to_text(torch.tensor([1e6, 0.0]))
    with pytest.raises(CodeTextError, match="one row"):
        code_to_text(torch.zeros(2, 3))


def test_restore_unmoved_gives_back_the_exact_numbers_the_link_did_not_move():
    reference = torch.tensor([0.123456, -1.987654, 2.5])
    moved = reference.clone()
    moved[1] = 0.75
    back = restore_unmoved(code_from_text(code_to_text(moved)), reference)
    assert back[0] == reference[0] and back[2] == reference[2]
    assert back[1] == pytest.approx(0.75, abs=1e-3)
