"""Figures: everything Latent Lab draws for a person to look at, made from tensors and plain
numbers, without streamlit (a page only shows what these return).

Two kinds, one module each, split by what is drawn:
- `images`: the digits themselves as pixels, PNG and GIF bytes (a digit, a grid, a morph).
- `charts`: numbers plotted on axes, Plotly figures (losses, codes, curves, histograms), and
  the latent map's static PNG, drawn with matplotlib because Plotly's export needs kaleido.

Import from `ae_core.figures`; the two modules are how the file is cut, not two concerns.
"""

from ae_core.figures.charts import (
    CLASS_COLOURS,
    add_marked_point,
    add_prior_layer,
    bottleneck_figure,
    code_activation_histogram,
    code_grid_figure,
    code_scatter,
    codebook_usage_figure,
    error_histogram,
    inactive_fraction_histogram,
    kl_per_dimension_figure,
    latent_map,
    latent_map_3d,
    latent_map_png,
    loss_curves,
    manifold_figure,
    psnr_curves,
    roc_figure,
    units_by_class_figure,
)
from ae_core.figures.images import grid_array, grid_png, image_png, strip_gif, to_uint8, upscale

__all__ = [
    "CLASS_COLOURS",
    "add_marked_point",
    "add_prior_layer",
    "bottleneck_figure",
    "code_activation_histogram",
    "code_grid_figure",
    "code_scatter",
    "codebook_usage_figure",
    "error_histogram",
    "inactive_fraction_histogram",
    "grid_array",
    "grid_png",
    "image_png",
    "kl_per_dimension_figure",
    "latent_map",
    "latent_map_3d",
    "latent_map_png",
    "loss_curves",
    "manifold_figure",
    "psnr_curves",
    "roc_figure",
    "strip_gif",
    "to_uint8",
    "units_by_class_figure",
    "upscale",
]
