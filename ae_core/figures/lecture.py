"""The pictures a lecture on autoencoders puts on slides, drawn from the active model itself:
the encoder -> code -> decoder shape with its own sizes, a VAE's ELBO split into its two terms
for one image, and the reparameterisation trick (z = mu + sigma * eps) drawn a few times.

No streamlit here; the Home page shows them (ui/lecture.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import torch

from ae_core.figures.images import grid_png
from ae_core.models import Autoencoder
from ae_core.models.base import reconstruction_loss

INPUT_SIZE = 784
ENCODER_COLOUR, CODE_COLOUR, DECODER_COLOUR = "#4C78A8", "#E45756", "#72B7B2"
PROJECTOR_WIDTH, PROJECTOR_HEIGHT = 1920, 1080  # a projector's full screen, in pixels
# Plotly's own "download as PNG" button renders at this size: a projector's full screen.
PROJECTOR_PNG = {"toImageButtonOptions": {"format": "png", "width": PROJECTOR_WIDTH,
                                          "height": PROJECTOR_HEIGHT, "scale": 1}}


def layer_widths(model: Autoencoder) -> list[int]:
    """Numbers per image at each stage of the encoder, input first, the code last: the hidden
    sizes of a family that declares them, else the input and the code only."""
    hidden = tuple(getattr(model.config, "hidden_sizes", ()) or ())
    declared = {setting.name for setting in getattr(type(model), "settings", ())}
    return [INPUT_SIZE, *(hidden if "hidden_sizes" in declared else ()), model.latent_dim]


def architecture_figure(widths: list[int], height: int = 320) -> go.Figure:
    """The hourglass: one bar per stage, its height growing with the numbers it holds (square
    root, so 784 and 2 both show), encoder in, the code in the middle, decoder out (mirrored)."""
    stages = [*widths, *widths[-2::-1]]
    code = len(widths) - 1
    names = (["image"] + [f"layer {index}" for index in range(1, code)] + ["code"]
             + [f"layer {index}" for index in range(code - 1, 0, -1)] + ["rebuilt image"])
    colours = [ENCODER_COLOUR] * code + [CODE_COLOUR] + [DECODER_COLOUR] * code
    top = max(width ** 0.5 for width in stages)
    figure = go.Figure()
    for position, (width, name, colour) in enumerate(zip(stages, names, colours, strict=True)):
        half = max(width ** 0.5 / top, 0.04) / 2
        figure.add_shape(type="rect", x0=position - 0.3, x1=position + 0.3, y0=-half, y1=half,
                         fillcolor=colour, line={"width": 0})
        figure.add_annotation(x=position, y=-0.62, text=f"{name}<br><b>{width:,}</b>",
                              showarrow=False, font={"size": 15})
    for label, x in (("encoder", (code - 0.0) / 2), ("decoder", code + code / 2)):
        figure.add_annotation(x=x, y=0.62, text=f"<b>{label}</b>", showarrow=False,
                              font={"size": 17})
    figure.update_xaxes(visible=False, range=[-0.6, len(stages) - 0.4])
    figure.update_yaxes(visible=False, range=[-0.8, 0.75])
    figure.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                         plot_bgcolor="rgba(0,0,0,0)", showlegend=False)
    return figure


@dataclass(frozen=True)
class ElboSplit:
    recon_loss: float  # nats (or summed squared error), the image rebuilt from the mean code
    kl_loss: float  # nats, KL(q(z | x) || N(0, I)) of this image's code
    mean: torch.Tensor  # (D,) mu
    std: torch.Tensor  # (D,) sigma

    @property
    def neg_elbo(self) -> float:
        return self.recon_loss + self.kl_loss


@torch.inference_mode()
def elbo_split(model: Autoencoder, image: torch.Tensor,
               label: torch.Tensor | None = None) -> ElboSplit:
    """A variational model's loss for one (1, 1, 28, 28) image, term by term (Kingma & Welling
    2013, eq. 10): reconstruction of the image from its mean code, and the KL to the prior."""
    labels = None if label is None else label.reshape(1)
    posterior = model.posterior(image, labels)
    logits = model.decode_logits(posterior.mean, labels)
    recon = reconstruction_loss(image, logits, model.config.recon_loss)
    return ElboSplit(float(recon), float(posterior.kl().sum()), posterior.mean[0],
                     torch.exp(0.5 * posterior.log_var[0]))


def elbo_figure(split: ElboSplit, height: int = 170) -> go.Figure:
    """One bar, the −ELBO split into its reconstruction and KL parts, with the numbers."""
    figure = go.Figure()
    for name, value, colour in (("reconstruction", split.recon_loss, ENCODER_COLOUR),
                                ("KL to the prior", split.kl_loss, CODE_COLOUR)):
        figure.add_trace(go.Bar(y=["−ELBO"], x=[value], name=name, orientation="h",
                                marker={"color": colour}, text=f"{name}: {value:.1f}",
                                textposition="inside", insidetextanchor="middle",
                                hovertemplate=f"{name}: %{{x:.2f}}<extra></extra>"))
    figure.update_layout(barmode="stack", height=height, showlegend=False,
                         margin={"l": 10, "r": 10, "t": 10, "b": 30})
    figure.update_xaxes(title_text=f"nats · total {split.neg_elbo:.1f}")
    return figure


@torch.inference_mode()
def reparameterised_decodes(model: Autoencoder, split: ElboSplit, count: int, seed: int = 0,
                            label: torch.Tensor | None = None
                            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw eps ~ N(0, I) `count` times and decode z = mu + sigma * eps: (count, D) eps and
    (count, 1, 28, 28) images. The randomness sits in eps, so gradients reach mu and sigma."""
    generator = torch.Generator().manual_seed(seed)
    eps = torch.randn(count, split.mean.numel(), generator=generator)
    codes = split.mean + split.std * eps  # (count, D)
    labels = None if label is None else label.reshape(1).expand(count)
    return eps, model.decode(codes, labels)


@torch.inference_mode()
def rebuilt_by_size(images: torch.Tensor, models: dict[int, Autoencoder],
                    pca_train: torch.Tensor, labels: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, list[str]]:
    """The same (N, 1, 28, 28) images rebuilt by each model (by its code size, smallest first)
    and by PCA with as many components, fitted on (M, 1, 28, 28) `pca_train`: rows of a grid,
    (1 + 2 * len(models)) * N images, and a name per row."""
    from ae_core.metrics import pca_reconstruction

    train_rows = pca_train.flatten(1).double().cpu().numpy()
    test_rows = images.flatten(1).double().cpu().numpy()
    rows, names = [images], ["the images"]
    for size in sorted(models):
        model = models[size]
        rows.append(model.reconstruct(images, labels if model.is_conditional else None))
        pca = torch.from_numpy(pca_reconstruction(train_rows, test_rows, size)).float()
        rows.append(pca.clamp(0, 1).reshape(images.shape))
        names += [f"autoencoder, {size} numbers", f"PCA, {size} components"]
    return torch.cat(rows), names


def projector_grid_png(images: torch.Tensor, columns: int, padding: int = 2) -> bytes:
    """(N, 1, H, W) -> PNG grid at the largest whole-pixel scale that fits a projector's screen
    (ae_core.figures.grid_png at scale 1 where even that is larger)."""
    rows = -(-len(images) // columns)
    height, width = images.shape[-2:]
    scale = min(PROJECTOR_WIDTH // (columns * (width + padding) - padding),
                PROJECTOR_HEIGHT // (rows * (height + padding) - padding))
    return grid_png(images, columns, scale=max(1, scale), padding=padding)
