"""LSTM autoencoder: a digit read as a sequence of 28 rows (Srivastava et al. 2015)."""

from __future__ import annotations

import torch
from torch import nn

from ae_core.config import IMAGE_SHAPE, ModelConfig
from ae_core.models.base import Autoencoder
from ae_core.registry import register

ROWS = 28  # time steps: one image row per step
ROW_SIZE = 28  # pixels per row, the LSTM's input size
HIDDEN_SIZE = 128  # small enough to train on a CPU in minutes


@register("lstm_ae", "LSTM autoencoder (reads and writes a digit row by row)")
class LSTMAutoencoder(Autoencoder):
    """An encoder LSTM summarises the rows; a decoder LSTM unrolls 28 steps from the code."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encoder_rnn = nn.LSTM(ROW_SIZE, HIDDEN_SIZE, batch_first=True)
        self.to_code = nn.Linear(HIDDEN_SIZE, config.latent_dim)
        self.to_initial_state = nn.Linear(config.latent_dim, HIDDEN_SIZE)
        self.decoder_rnn = nn.LSTM(config.latent_dim, HIDDEN_SIZE, batch_first=True)
        self.to_row = nn.Linear(HIDDEN_SIZE, ROW_SIZE)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B, D): a linear map of the final hidden state."""
        _, (hidden, _) = self.encoder_rnn(x.reshape(-1, ROWS, ROW_SIZE))
        return self.to_code(hidden[-1])

    def decode_logits(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, D) -> (B, 1, 28, 28) logits, one row per decoder step."""
        # The code both sets the initial state and is fed at every step, so late rows do not
        # depend on the state carrying it 28 steps unchanged.
        initial = torch.tanh(self.to_initial_state(z)).unsqueeze(0)
        steps = z.unsqueeze(1).expand(-1, ROWS, -1).contiguous()
        outputs, _ = self.decoder_rnn(steps, (initial, torch.zeros_like(initial)))
        return self.to_row(outputs).view(-1, *IMAGE_SHAPE)
