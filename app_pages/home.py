"""Landing page: what an autoencoder does, in a few lines and one picture."""

import streamlit as st
import torch

from ae_core.figures import grid_png
from ui.models import embedded_digits, embedded_images, require_model

st.title("Latent Lab")
st.markdown(
    "An **autoencoder** squeezes each 28×28 digit (784 numbers) through a narrow "
    "**bottleneck** (its *latent code*) and rebuilds the digit from that code alone. "
    "What survives the squeeze is what the model learned matters. Pick a model in the "
    "sidebar, then explore its latent space with the pages on the left."
)
model = require_model()
latent_dim = model.checkpoint.model.latent_dim
digits = embedded_digits()
# One digit of each class, the same ones every visit, so the picture is a stable reference.
indices = torch.stack([torch.nonzero(digits.labels == label)[0, 0] for label in range(10)])
images = embedded_images()[indices]
with torch.inference_mode():
    recon = model.checkpoint.model.reconstruct(images, digits.labels[indices])

left, right = st.columns([3, 1])
with left:
    st.subheader("Digits and their reconstructions")
    st.image(grid_png(torch.cat([images, recon]), columns=10, scale=4),
             caption="Top: real digits. Bottom: what the model rebuilds from the code alone.",
             output_format="PNG")
with right:
    st.metric("Input size", "784 pixels")
    st.metric("Bottleneck", f"{latent_dim} numbers")
    st.metric("Compression", f"{784 / latent_dim:.1f}×")
