"""Bottleneck sliders: one slider per code dimension; the decoded digit follows as they move."""

import streamlit as st
import torch

from ae_core.charts import manifold_figure
from ae_core.latent import decode_codes, sample_codes, traverse
from ae_core.plotting import grid_png, image_png
from ui import state
from ui.models import embedded_digits, embedded_images, encoded_digits, require_model
from ui.widgets import (
    digit_picker,
    guarded,
    labels_for,
    latent_summary,
    manifold_png,
    send_to_picker,
)
from ui.zoo_panels import class_grid, has_codebook, kl_panel, vq_editor

FIRST_SLIDERS = 8  # dimensions shown until the user asks for all
MAX_SLIDERS = 256  # even "all" stops here: a 1024-D code would bury the page in sliders
SLIDER_STEPS = 200  # slider resolution across a dimension's range
TRAVERSE_STEPS = 9
TRAVERSE_DIGITS = 5  # rows of the traversal grid: the chosen digit and others of other classes
MANIFOLD_SIZE = 15
CODE_KEY = "sliders_code"  # the whole current code (D,); the shown sliders write into it
ORIGIN_KEY = "sliders_origin"  # (model key, digit index) the current code started from


def slider_key(dimension: int) -> str:
    return f"sliders_dim_{dimension}"


def set_code(code: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> None:
    """Make `code` the current one, clamped to the slider ranges, sliders included."""
    code = torch.minimum(torch.maximum(code.float().cpu(), low), high)
    st.session_state[CODE_KEY] = code
    for dimension, value in enumerate(code.tolist()):
        st.session_state[slider_key(dimension)] = value


def randomise(net, codes: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> None:
    """A code from the model's prior where it has one, else from the real codes' spread."""
    if net.has_prior:
        code = net.sample_prior(1)[0]
        st.session_state["sliders_random_from"] = "the model's prior"
    else:
        code = sample_codes(codes, 1)[0]
        st.session_state["sliders_random_from"] = "a Gaussian fitted to the digits' codes"
    set_code(code, low, high)


@st.fragment
def decoder_panel(model, original: torch.Tensor, start: torch.Tensor, label: int,
                  low: torch.Tensor, high: torch.Tensor, dimensions: list[int], summary,
                  codes: torch.Tensor) -> None:
    """Sliders and the decoded digit: a slider move reruns only this."""
    checkpoint = model.checkpoint
    net = checkpoint.model
    code = st.session_state[CODE_KEY]
    pictures, controls = st.columns([1, 1], gap="large")
    with controls:
        reset, shuffle = st.columns(2)
        reset.button("Reset to the digit", key="sliders_reset", on_click=set_code,
                     args=(start, low, high), icon=":material/restart_alt:")
        shuffle.button("Randomise", key="sliders_randomise", on_click=randomise,
                       args=(net, codes, low, high), icon=":material/casino:")
        if "sliders_random_from" in st.session_state:
            st.caption(f"Random codes come from {st.session_state['sliders_random_from']}.")
        if net.is_conditional:
            label = st.selectbox("Draw as class", range(net.config.num_classes),
                                 key="sliders_class",
                                 help="Same code (the style), another digit")
        columns = st.columns(2)
        for position, dimension in enumerate(dimensions):
            key = slider_key(dimension)
            if key not in st.session_state:  # shown again after being hidden
                st.session_state[key] = float(code[dimension])
            low_d, high_d = float(low[dimension]), float(high[dimension])
            code[dimension] = columns[position % 2].slider(
                f"z[{dimension}]", low_d, high_d, step=(high_d - low_d) / SLIDER_STEPS,
                format="%.2f", key=key,
                help=f"{summary.importance_kind} {float(summary.importance[dimension]):.3g}")
    decoded = guarded("Decoding the code", decode_codes, net, code.unsqueeze(0),
                      labels_for(checkpoint, label, 1))
    with pictures:
        left, right = st.columns(2)
        left.image(image_png(original, scale=10), caption="The digit", output_format="PNG")
        if decoded is not None:
            right.image(image_png(decoded[0], scale=10), caption="Decoded from the sliders",
                        output_format="PNG")
    if net.is_conditional:
        class_grid(net, code)
    manifold = None
    if len(code) == 2:
        manifold = guarded("Decoding the manifold", manifold_png, model.key, checkpoint,
                           tuple(summary.low.tolist()), tuple(summary.high.tolist()),
                           MANIFOLD_SIZE, label if net.is_conditional else None)
    if manifold is not None:
        with controls:
            st.plotly_chart(manifold_figure(manifold, MANIFOLD_SIZE, summary.low.tolist(),
                                            summary.high.tolist(), point=code.tolist()),
                            key="sliders_manifold")
            st.caption("The decoder's view of the whole 2-D code space; the cross is the code "
                       "of the sliders.")


st.title("Bottleneck sliders")
model = require_model()
checkpoint = model.checkpoint
net = checkpoint.model
digits = embedded_digits()
encoded = encoded_digits(model.key, checkpoint)
summary = latent_summary(model.key, checkpoint)
latent_dim = encoded.codes.shape[1]

sent = st.session_state.pop(state.SELECTED_DIGIT, None)  # a message: followed once
if sent is not None and 0 <= int(sent) < len(digits):
    send_to_picker("sliders_digit", int(sent))

pick, view = st.columns([3, 2], gap="large")
with pick:
    index = digit_picker("sliders_digit", digits, "Start from a digit")
with view:
    measure = ("mean KL from the prior" if summary.importance_kind == "KL"
               else "variance across the digits")
    st.markdown(f"**{latent_dim}** code dimensions, the ones that matter most first "
                f"(by {measure}).")
    show_all = latent_dim > FIRST_SLIDERS and st.toggle(
        f"Show all {min(latent_dim, MAX_SLIDERS)} dimensions", key="sliders_show_all")
dimensions = summary.order[:MAX_SLIDERS if show_all else FIRST_SLIDERS]
if show_all and latent_dim > MAX_SLIDERS:
    st.caption(f"The {latent_dim - MAX_SLIDERS} least important dimensions keep their values.")

start = encoded.codes[index]
label = int(digits.labels[index])
low, high = torch.minimum(summary.low, start), torch.maximum(summary.high, start)
if st.session_state.get(ORIGIN_KEY) != (model.key, index) or CODE_KEY not in st.session_state:
    set_code(start, low, high)
    st.session_state[ORIGIN_KEY] = (model.key, index)
    st.session_state["sliders_class"] = label
    st.session_state.pop("sliders_random_from", None)
if has_codebook(net):
    vq_editor(model, index, embedded_images()[index])
    st.subheader("The same code as continuous numbers")
    st.caption(f"The {latent_dim} numbers below are the entries' vectors, position by "
               "position; a slider moves one off the codebook, which the decoder still reads.")
decoder_panel(model, embedded_images()[index], start, label, low, high, dimensions, summary,
              encoded.codes)

st.subheader("Traversal: one dimension swept, everything else held")
dimension = st.selectbox("Dimension", summary.order[:MAX_SLIDERS], key="sliders_traverse_dim",
                         format_func=lambda d: f"z[{d}] ({summary.importance_kind} "
                                               f"{float(summary.importance[d]):.3g})")
classes = len(digits.class_names)
others = [int(torch.nonzero(digits.labels == (label + step) % classes)[0, 0])
          for step in range(1, TRAVERSE_DIGITS)]
rows = [index, *others]
values = torch.linspace(float(summary.low[dimension]), float(summary.high[dimension]),
                        TRAVERSE_STEPS)
sweep = torch.cat([traverse(encoded.codes[row], dimension, values) for row in rows])
row_labels = digits.labels[rows].repeat_interleave(TRAVERSE_STEPS)
images = guarded("Decoding the traversal", decode_codes, net, sweep,
                 row_labels if net.is_conditional else None)
if images is not None:
    st.image(grid_png(images, columns=TRAVERSE_STEPS, scale=3), output_format="PNG",
             caption=f"Each row is one digit's code with z[{dimension}] swept from "
                     f"{values[0]:.2f} to {values[-1]:.2f}.")

kl_panel(model)
