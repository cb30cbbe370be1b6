"""The lecture's pictures on Home, from the active model: its encoder -> code -> decoder shape
with its own sizes and, for a VAE, its loss for the image on show split into reconstruction and
KL, and the reparameterisation trick drawn a few times. Figures come from ae_core.figures.lecture.
"""

from __future__ import annotations

from functools import partial

import streamlit as st
import torch

from ae_core.figures.images import grid_png
from ae_core.figures.lecture import (
    PROJECTOR_PNG,
    architecture_figure,
    elbo_figure,
    elbo_split,
    layer_widths,
    reparameterised_decodes,
)
from ui.models import ActiveModel

DRAWS = 6  # decodes of mu + sigma * eps shown at once
PROJECTOR_SCALE = 12  # a grid of 28-pixel images this many times larger: about 1080 px tall


def _draw_again() -> None:
    st.session_state["home_eps_seed"] = st.session_state.get("home_eps_seed", 0) + 1


def lecture_pictures(model: ActiveModel, image: torch.Tensor, label: torch.Tensor,
                     noun: str) -> None:
    """`image` (1, 1, 28, 28) of class `label` (1,): the one the VAE's numbers are about."""
    net = model.checkpoint.model
    widths = layer_widths(net)
    st.subheader("Encoder, code, decoder")
    st.plotly_chart(architecture_figure(widths), config=PROJECTOR_PNG, key="home_architecture")
    st.caption(f"This model's own sizes: {widths[0]} pixels go in, the encoder narrows them to "
               f"a {widths[-1]}-number code, and the decoder widens the code back to "
               f"{widths[0]} pixels. The camera button above the picture saves it as a "
               f"1920×1080 PNG.")
    if not net.is_variational:
        return
    labels = label if net.is_conditional else None
    split = elbo_split(net, image, labels)
    st.subheader("A VAE's loss, for the first of these " + noun)
    left, right = st.columns([1, 2], vertical_alignment="center")
    left.image(grid_png(image, columns=1, scale=5), output_format="PNG")
    right.plotly_chart(elbo_figure(split), config=PROJECTOR_PNG, key="home_elbo")
    right.caption(f"−ELBO = reconstruction + KL = {split.recon_loss:.1f} + {split.kl_loss:.1f} "
                  f"= {split.neg_elbo:.1f} nats for this image. The reconstruction term asks "
                  f"the decoder to rebuild it from its code; the KL term asks the code's "
                  f"Gaussian to stay close to N(0, I), which keeps the codes packed with no "
                  f"holes between them.")

    st.subheader("The reparameterisation trick")
    seed = st.session_state.get("home_eps_seed", 0)
    eps, decoded = reparameterised_decodes(net, split, DRAWS, seed, labels)
    shown = min(3, split.mean.numel())
    more = ", …" if shown < split.mean.numel() else ""
    mu = ", ".join(f"{value:.2f}" for value in split.mean[:shown].tolist()) + more
    sigma = ", ".join(f"{value:.2f}" for value in split.std[:shown].tolist()) + more
    st.markdown(f"The encoder gives a mean **μ** = ({mu}) and a spread **σ** = ({sigma}). "
                f"Training draws **ε** ~ N(0, I) and decodes **z = μ + σ·ε**: the chance sits in "
                f"ε, so the gradient reaches μ and σ. Each picture below is one draw of ε.")
    grid = torch.cat([image, decoded])
    st.image(grid_png(grid, columns=len(grid), scale=4), output_format="PNG",
             caption="First: the image. Then: decodes of μ + σ·ε for "
                     + "; ".join(f"ε₀ = {value:+.2f}" for value in eps[:, 0].tolist()))
    draw, download = st.columns([1, 3])
    draw.button("Draw ε again", key="home_eps_again", on_click=_draw_again,
                icon=":material/casino:")
    download.download_button("PNG for a projector",  # made when clicked
                             partial(grid_png, grid, columns=len(grid),
                                     scale=PROJECTOR_SCALE // 2),
                             "reparameterisation.png", "image/png", key="home_eps_png",
                             icon=":material/download:", on_click="ignore")
