"""The Home page's live pictures (ae_core.previews): what they cost for a long code."""

from __future__ import annotations

import torch

from ae_core.config import ModelConfig
from ae_core.latent import code_ranges, decode_codes
from ae_core.models import build_model
from ae_core.previews import MAX_SWEPT, _most_telling_dimension


def decoded_rows(model) -> list[int]:
    """Rows each call of the model's decoder gets, recorded as it runs."""
    rows: list[int] = []
    model.decoder.register_forward_hook(lambda module, args, out: rows.append(len(args[0])))
    return rows


def test_a_long_code_sweeps_only_its_widest_ranging_numbers():
    # A VQ-VAE's code is 49 x 32 numbers: sweeping them all was 3 s of a first Home visit.
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="vqvae", latent_dim=32)).eval()
    codes = model.embed(torch.rand(20, 1, 28, 28))
    assert codes.shape[1] == 1568 > MAX_SWEPT
    low, high = code_ranges(codes)
    rows = decoded_rows(model)
    dimension = _most_telling_dimension(model, codes[0], torch.zeros((), dtype=torch.long),
                                        low, high)
    assert sum(rows) == 2 * MAX_SWEPT
    widest = set(torch.argsort(high - low, descending=True, stable=True)[:MAX_SWEPT].tolist())
    assert dimension in widest


def test_a_short_code_sweeps_every_number_and_finds_the_most_telling():
    torch.manual_seed(0)
    model = build_model(ModelConfig(family="ae", latent_dim=8, hidden_sizes=(32,))).eval()
    codes = model.embed(torch.rand(50, 1, 28, 28))
    low, high = code_ranges(codes)
    code = codes[0]
    changes = []
    for number in range(8):  # every number, from its low end to its high, decoded
        ends = code.repeat(2, 1)
        ends[0, number], ends[1, number] = low[number], high[number]
        decoded = decode_codes(model, ends).flatten(1)
        changes.append(float((decoded[0] - decoded[1]).abs().sum()))
    expected = max(range(8), key=changes.__getitem__)
    assert _most_telling_dimension(model, code, torch.zeros((), dtype=torch.long), low,
                                   high) == expected
