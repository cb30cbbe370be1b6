"""Analogies on the Interpolation page (ae_core.attributes.analogy, analogy_grid; White,
"Sampling Generative Networks", 2016): a - b + c, "what turns b into a, applied to c", and the
analogy grid, each row one digit's style written as every class."""

from __future__ import annotations

import streamlit as st
import torch

from ae_core.attributes import analogy, analogy_grid, class_means
from ae_core.figures import grid_png
from ae_core.latent import decode_codes
from ui.models import ActiveModel
from ui.sources import own_codes, own_dataset, wording
from ui.widgets import PickedDigit, digit_picker, guarded, picked_digit

GRID_ROWS = 5  # the two picked digits and three of other classes


def analogy_section(model: ActiveModel, first: PickedDigit, second: PickedDigit) -> None:
    """a - b + c with a = the From digit, b = the To digit and c a third digit picked here,
    then the grid of the From and To digits' styles (and three more) in every class."""
    net = model.checkpoint.model
    digits = own_dataset(model)
    codes = own_codes(model).codes
    classes = len(digits.class_names)
    st.subheader("Analogies: a − b + c")
    st.markdown(wording(model)(
        "Code arithmetic (White 2016): **a − b + c** takes what turns *b* into *a* and "
        "applies it to *c*. With *a* the *From* digit above and *b* the *To* digit, pick *c*."))
    pick, result = st.columns([2, 3], gap="large")
    with pick:
        third = picked_digit(digit_picker("interpolate_analogy_c", digits, "c",
                                          default_class=2), model)
    code = analogy(first.code, second.code, third.code).unsqueeze(0)  # (1, D)
    label = torch.tensor([third.label]) if net.is_conditional else None
    decoded = guarded("Decoding a − b + c", decode_codes, net, code, label)
    if decoded is not None:
        strip = torch.stack([first.image, second.image, third.image, decoded[0]])
        result.image(grid_png(strip, columns=4, scale=4), output_format="PNG",
                     caption="a, b, c, and the decoded a − b + c")

    st.markdown(wording(model)(
        "**The analogy grid.** Each row is one digit's *style*: its code minus the mean code "
        "of its class. Added to each class's mean code, it writes every digit in that style."
        + (" (This conditional model is told the class: each row keeps its code and only the "
           "class changes.)" if net.is_conditional else "")))
    labels = digits.labels
    rows = [int(first.origin) if first.origin.isdigit() else None,
            int(second.origin) if second.origin.isdigit() else None]
    rows = [row for row in rows if row is not None]
    seen = {int(labels[row]) for row in rows}
    for label_value in range(classes):
        if len(rows) >= GRID_ROWS:
            break
        if label_value not in seen:
            rows.append(int(torch.nonzero(labels == label_value)[0, 0]))
            seen.add(label_value)
    row_codes = codes[rows]
    if net.is_conditional:
        grid = row_codes.repeat_interleave(classes, dim=0)
        grid_labels = torch.arange(classes).repeat(len(rows))
    else:
        means = torch.as_tensor(class_means(codes.numpy(), labels.numpy()), dtype=torch.float32)
        means = torch.nan_to_num(means)
        grid = analogy_grid(row_codes, labels[rows], means)
        grid_labels = None
    images = guarded("Decoding the analogy grid", decode_codes, net, grid, grid_labels)
    if images is None:
        return
    originals = digits.subset(torch.tensor(rows)).float_images()
    rows_images = torch.cat([torch.cat([originals[i:i + 1], images[i * classes:(i + 1) * classes]])
                             for i in range(len(rows))])
    st.image(grid_png(rows_images, columns=classes + 1, scale=3), output_format="PNG",
             caption=wording(model)("First column: the digit whose style the row carries (images "
                         + ", ".join(f"#{row}" for row in rows) + "); then that style written "
                         "as " + ", ".join(digits.class_names[:classes]) + "."))

