"""Interpolation: walk from one digit's code to another's and decode every step on the way."""

from functools import partial

import streamlit as st
import torch

from ae_core.figures import grid_png, image_png, strip_gif
from ae_core.figures.lecture import projector_grid_png
from ae_core.latent import INTERPOLATIONS, decode_codes, interpolate, interpolate_pixels
from ui import state, url_state
from ui.analogy_panel import analogy_section
from ui.browser_decoder import live_view, retry_button, send_decoder
from ui.copy_link import copy_link
from ui.models import require_model
from ui.sources import own_dataset, own_source, set_label, wording
from ui.widgets import DRAWING, digit_picker, guarded, labels_for, picked_digit, send_to_picker

METHODS = {"linear": "Linear", "slerp": "Spherical (slerp)"}
SCRUB_STEPS = 61  # points on the path the scrub slider can stop at
PICKERS = ("interpolate_start", "interpolate_end")
END_CLASS = 7  # where a walk goes by default: a 1 to a 7
ENDS = (url_state.START, url_state.END)  # the pickers' parameters in a link
STEPS = (3, 24, 10)  # the steps slider: lowest, highest, default
TAKEN_KEY = "interpolate_taken_ends"  # the last INTERPOLATION_ENDS this page followed

st.title("Interpolation")
model = require_model()
say = wording(model)  # the words for the model's kind of images
copy_link("interpolate_link")
link = url_state.from_link((*ENDS, url_state.PATH, url_state.STEPS))
reason = send_decoder(model)  # early: the browser loads its runtime while the page is drawn
net = model.checkpoint.model
digits = own_dataset(model)  # the pickers' and the link's indices are into this set

ends = st.session_state.get(state.INTERPOLATION_ENDS)
if ends is not None and list(ends) != st.session_state.get(TAKEN_KEY):
    st.session_state[TAKEN_KEY] = list(ends)  # followed once; the pickers are the user's after
    for prefix, index in zip(PICKERS, ends, strict=False):
        if index is not None and (index == DRAWING or 0 <= int(index) < len(digits)):
            send_to_picker(prefix, int(index))
    drawing = st.session_state.get(state.DRAWN_DIGIT)
    to_class = st.session_state.get(f"{PICKERS[1]}_class", END_CLASS)
    if (list(ends)[:1] == [DRAWING] and drawing is not None and drawing.label == to_class
            and st.session_state.get(f"{PICKERS[1]}_mode", "By class") == "By class"):
        # A drawn 7 morphs into another class, not into a 7.
        st.session_state[f"{PICKERS[1]}_class"] = 1 if drawing.label == END_CLASS else END_CLASS
for prefix, name in zip(PICKERS, ENDS, strict=True):
    linked = url_state.int_from_link(link, name, 0, len(digits) - 1)
    if linked is not None:
        send_to_picker(prefix, linked)
url_state.choice_from_link(link, url_state.PATH, INTERPOLATIONS, "interpolate_method")
linked = url_state.int_from_link(link, url_state.STEPS, STEPS[0], STEPS[1])
if linked is not None:
    st.session_state["interpolate_steps"] = linked

first, second, settings = st.columns([2, 2, 1], gap="large")
with first:
    start = digit_picker(PICKERS[0], digits, "From", default_class=1)
with second:
    end = digit_picker(PICKERS[1], digits, "To", default_class=END_CLASS)
st.caption(f"From the {set_label(own_source(model))}, the images this model knows.")
first_digit = picked_digit(start, model)  # a dataset image or a drawing
last_digit = picked_digit(end, model)
with settings:
    steps = st.slider("Steps", *STEPS[:2], value=url_state.chosen("interpolate_steps", STEPS[2]),
                      key="interpolate_steps")
    method = st.radio("Path", INTERPOLATIONS, format_func=METHODS.get, key="interpolate_method",
                      index=INTERPOLATIONS.index(url_state.chosen("interpolate_method",
                                                                  INTERPOLATIONS[0])),
                      help="Spherical keeps the code's length, where a VAE's codes live")
    label = None
    if net.is_conditional:
        label = st.selectbox("Draw as class", range(net.config.num_classes),
                             index=first_digit.label, key="interpolate_class")

url_state.show({name: None if index == DRAWING else str(index)
                for name, index in zip(ENDS, (start, end), strict=True)}
               | {url_state.PATH: method, url_state.STEPS: str(steps)})

ends_images = torch.stack([first_digit.image, last_digit.image])  # (2, 1, 28, 28)
path = interpolate(first_digit.code, last_digit.code, steps, method)  # (steps, D)
decoded = guarded("Decoding the path", decode_codes, net, path,
                  labels_for(model.checkpoint, label, steps))
if decoded is None:
    st.stop()
crossfade = interpolate_pixels(ends_images[0], ends_images[1], steps)
latent_strip = torch.cat([ends_images[:1], decoded, ends_images[1:]])
pixel_strip = torch.cat([ends_images[:1], crossfade, ends_images[1:]])

latent_png = grid_png(latent_strip, columns=steps + 2, scale=3)
st.subheader(f"Through the latent space: {METHODS[method].lower()} path")
st.image(latent_png, output_format="PNG",
         caption=say("The two digits at the ends; between them, the decoder's drawing of each "
                     "code on the path."))


@st.fragment
def server_scrub(path: torch.Tensor, label: int | None) -> None:
    """The fallback: each scrub step is decoded on the server."""
    step = st.slider("Position along the path", 0, len(path) - 1, len(path) // 2,
                     key="interpolate_scrub", format="")
    decoded = guarded("Decoding the point", decode_codes, net, path[step:step + 1],
                      labels_for(model.checkpoint, label, 1))
    if decoded is not None:
        st.image(image_png(decoded[0], scale=8), output_format="PNG",
                 caption=f"t = {step / (len(path) - 1):.2f} along the path")


st.subheader("Scrub along the path")
scrub_path = interpolate(first_digit.code, last_digit.code, SCRUB_STEPS, method)  # (steps, D)
if reason is None:
    st.caption("Drag along the path: each point is decoded in your browser as you move.")
    live_view(model, "path", "interpolate_live",
              {"path": scrub_path.tolist(), "label": label,
               "revision": f"{model.key}|{first_digit.origin}|{last_digit.origin}|{method}"})
else:
    st.caption(f":material/info: Decoding on the server: {reason}.")
    retry_button("interpolate_retry_browser")
    server_scrub(scrub_path, label)

st.subheader("Through pixel space (a cross-fade)")
st.image(grid_png(pixel_strip, columns=steps + 2, scale=3), output_format="PNG",
         caption=say("The same number of steps, mixing pixels: halfway is two faint digits on "
                     "top of each other, not a digit. The latent path goes through what the "
                     "model learned digits look like."))

name = f"interpolation_{first_digit.origin}_{last_digit.origin}_{method}"
png, gif = st.columns(2)
png.download_button("Download the strip (PNG)",  # at a projector's size
                    partial(projector_grid_png, latent_strip, columns=steps + 2),
                    file_name=f"{name}.png",
                    mime="image/png", key="interpolate_png", icon=":material/image:",
                    on_click="ignore")
gif.download_button("Download the morph (animated GIF)", partial(strip_gif, decoded),
                    file_name=f"{name}.gif", mime="image/gif", key="interpolate_gif",
                    icon=":material/animation:", on_click="ignore")

analogy_section(model, first_digit, last_digit)  # a - b + c and White's grid (ui/analogy_panel.py)
