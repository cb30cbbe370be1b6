"""Contractive autoencoder (Rifai et al. 2011): penalise how much the code moves with the input."""

from __future__ import annotations

import torch
from torch import nn

from ae_core.models.base import HIDDEN_SIZES, ForwardOutput
from ae_core.models.mlp import MLPAutoencoder
from ae_core.registry import Setting, register


@register("contractive_ae", "Contractive autoencoder (penalises the encoder's Jacobian)",
          settings=(HIDDEN_SIZES,
                    Setting("contractive_weight", float, 1e-2,
                            "weight of the encoder Jacobian's squared Frobenius norm",
                            label="Contractive weight", bounds=(0.0, 10.0), step=1e-3)))
class ContractiveAutoencoder(MLPAutoencoder):
    """MLP autoencoder whose loss adds contractive_weight * ||d code / d input||_F^2."""

    regularises_overcomplete = True

    def encode_with_masks(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, 1, 28, 28) -> code (B, D) and each ReLU's (B, H) 0/1 derivative."""
        hidden, masks = x.flatten(1), []
        for layer in self.encoder:
            if isinstance(layer, nn.ReLU):
                masks.append((hidden > 0).to(hidden.dtype))
            hidden = layer(hidden)
        return hidden, masks

    def jacobian_norm(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) -> (B,) exact squared Frobenius norm of the encoder's Jacobian."""
        return self._jacobian_norm(*self.encode_with_masks(x))

    def _jacobian_norm(self, code: torch.Tensor, masks: list[torch.Tensor]) -> torch.Tensor:
        # The encoder is W_L R_{L-1} W_{L-1} ... R_1 W_1 with R_i = diag(relu'(pre-activation)),
        # so its Jacobian is exact in closed form. Multiplying from the code side keeps the
        # running product at (B, D, H) until the last step gives the full (B, D, 784).
        linears = [layer for layer in self.encoder if isinstance(layer, nn.Linear)]
        if not masks:  # one linear layer: its weight is the Jacobian, the same for every digit
            return linears[-1].weight.pow(2).sum().expand(code.shape[0])
        jacobian = linears[-1].weight.expand(code.shape[0], -1, -1)
        for linear, mask in zip(reversed(linears[:-1]), reversed(masks), strict=True):
            jacobian = (jacobian * mask.unsqueeze(1)) @ linear.weight
        return jacobian.pow(2).sum(dim=(1, 2))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> ForwardOutput:
        # The penalty is taken at the encoder's actual input (the corrupted one when denoising),
        # which `loss` never sees, so it is computed here.
        code, masks = self.encode_with_masks(x)
        return ForwardOutput(logits=self.decode_logits(code), code=code,
                             extras={"jacobian_norm": self._jacobian_norm(code, masks)})

    def loss(self, x: torch.Tensor, out: ForwardOutput, kl_weight: float = 1.0) -> dict:
        """Reconstruction + weight * mean ||J_f(x)||_F^2 (Rifai et al. 2011, eq. 7)."""
        terms = super().loss(x, out, kl_weight)
        contractive_loss = out.extras["jacobian_norm"].mean()
        terms["contractive_loss"] = contractive_loss
        terms["loss"] = terms["recon_loss"] + self.config.contractive_weight * contractive_loss
        return terms
