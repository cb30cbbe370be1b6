"""What the model card's terms mean, a sentence each, for a class meeting them the first time.

The card itself is in ui/sidebar.py; this draws the explanations under it.
"""

from __future__ import annotations

import streamlit as st

from ui.models import ActiveModel

# By the card's metric name (ui.sidebar.CARD_METRICS) and for the card's first lines.
TERMS = {
    "latent_size": "**Latent size**: how many numbers the encoder keeps of each image (its code); "
                   "everything the decoder draws comes from these numbers.",
    "compression": "**Compression**: 784 pixels in, latent-size numbers kept: how much narrower "
                   "the bottleneck is than the image.",
    "mse_per_pixel": "**MSE / pixel**: the mean squared difference between an image and its "
                     "rebuilding, per pixel on a 0 to 1 scale; lower is a closer copy.",
    "psnr_db": "**PSNR (dB)**: the same error on a log scale, as photographers quote it; higher "
               "is better, and +10 dB means ten times less squared error.",
    "neg_elbo": "**−ELBO (nats)**: a VAE's loss, reconstruction error plus the KL term (how far "
                "each code's Gaussian strays from the prior N(0, I)); an upper bound on how "
                "surprised the model is by a test image, lower is better.",
    "recon_loss": "**Recon. loss**: the reconstruction part of the training loss alone (summed "
                  "over an image's pixels), without any regulariser.",
    "linear_probe_accuracy": "**Linear probe acc.**: a straight line (logistic regression) fitted "
                             "on the codes to predict each image's class, scored on test images: "
                             "how much the code says about the class without being told.",
}
CONDITIONAL_PROBE = (
    "**Why does this model's code predict the class so badly?** A conditional VAE is *given* "
    "the class: its decoder reads the label beside the code. So the code has no reason to say "
    "which class an image is, and it keeps only the style (slant, thickness, size). A probe "
    "near chance (0.1 for 10 classes) is the model doing its job, not failing.")


def card_terms(model: ActiveModel, metric_names: list[str]) -> None:
    """A fold under the card: a sentence for each term the card shows."""
    with st.expander("What do these mean?", icon=":material/help:"):
        lines = [TERMS["latent_size"], TERMS["compression"]]
        lines += [TERMS[name] for name in metric_names if name in TERMS]
        st.markdown("\n\n".join(lines))
        if model.checkpoint.model.is_conditional:
            st.markdown(CONDITIONAL_PROBE)
