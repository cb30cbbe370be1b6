"""Bottleneck sliders: one slider per code dimension; the decoded digit follows as they move."""

from functools import partial

import streamlit as st
import torch

from ae_core.code_text import CodeTextError, code_from_text
from ae_core.figures import grid_png, image_png, manifold_figure, strip_gif
from ae_core.figures.lecture import PROJECTOR_PNG, projector_grid_png
from ae_core.latent import decode_codes, sample_codes, traverse
from ui import state, url_state
from ui.attribute_panel import effects_panel, server_attribute_sliders, slider_attributes
from ui.browser_decoder import live_view, problem, retry_button, send_decoder
from ui.classroom import SIDE_BY_SIDE, presenting
from ui.copy_link import copy_link
from ui.models import require_model
from ui.sources import own_codes, own_dataset, own_noun, own_source, set_label, wording
from ui.uncertainty_panel import add_ellipses, ellipse_data, resample_panel, spread_of
from ui.widgets import (
    DRAWING,
    PickedDigit,
    digit_picker,
    guarded,
    labels_for,
    latent_summary,
    manifold_png,
    picked_digit,
    send_to_picker,
)
from ui.zoo_panels import class_grid, has_codebook, kl_panel, sparsity_panel, vq_editor

FIRST_SLIDERS = 8  # dimensions shown until the user asks for all
MAX_SLIDERS = 256  # even "all" stops here: a 1024-D code would bury the page in sliders
SLIDER_STEPS = 200  # slider resolution across a dimension's range
TRAVERSE_STEPS = 9
TRAVERSE_DIGITS = 5  # rows of the traversal grid: the chosen digit and others of other classes
MANIFOLD_SIZE = 15
CODE_KEY = "sliders_code"  # the whole current code (D,); the shown sliders write into it
ORIGIN_KEY = "sliders_origin"  # (model key, digit index) the current code started from
LINKED_KEY = "sliders_linked"  # (model key, code text, class): a link's start naming no digit


def slider_key(dimension: int) -> str:
    return f"sliders_dim_{dimension}"


REVISION_KEY = "sliders_revision"  # bumped whenever the page sets the code on purpose
BROWSER_KEY = "sliders_in_browser"  # the toggle: decode in the browser or on the server


def set_code(code: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> None:
    """Make `code` the current one, clamped to the slider ranges, sliders included."""
    code = torch.minimum(torch.maximum(code.float().cpu(), low), high)
    keep_code(code.tolist())
    # A new revision tells the browser's sliders to take this code, not keep the hand's.
    st.session_state[REVISION_KEY] = st.session_state.get(REVISION_KEY, 0) + 1


def keep_code(values: list[float]) -> None:
    """The code as the hand left it (browser sliders) or as the page set it."""
    st.session_state[CODE_KEY] = torch.tensor(values, dtype=torch.float32)
    for dimension, value in enumerate(values):
        st.session_state[slider_key(dimension)] = value


def start_from_link(link: dict[str, str], model, latent_dim: int) -> None:
    """A link naming no digit was made from a drawing, which no link can carry: its FROM code
    (in older links, its CODE) becomes the start, until the user picks an image."""
    if url_state.DIGIT in st.query_params:  # a dataset digit's link
        st.session_state.pop(LINKED_KEY, None)
        return
    name = url_state.FROM if url_state.FROM in link else url_state.CODE
    if name not in link:
        return
    try:
        code_from_text(link[name], latent_dim)
    except CodeTextError as error:
        if name == url_state.FROM:  # a bad CODE gets its note from code_from_link
            url_state.refuse(name, link[name], f"is not a code for this model ({error})")
        return
    net = model.checkpoint.model
    text = st.query_params.get(url_state.CLASS, "0")
    classes = net.config.num_classes if net.is_conditional else 1
    label = int(text) if text.isdigit() and int(text) < classes else 0
    st.session_state[LINKED_KEY] = (model.key, link[name], label)


def linked_start(model) -> PickedDigit | None:
    """The start a link gave (start_from_link), its picture decoded from its code."""
    linked = st.session_state.get(LINKED_KEY)
    if linked is not None and linked[0] != model.key:  # another model: the link is done with
        st.session_state.pop(LINKED_KEY)
        return None
    if linked is None:
        return None
    _, text, label = linked
    code = code_from_text(text)
    image = decode_codes(model.checkpoint.model, code.unsqueeze(0),
                         labels_for(model.checkpoint, label, 1))[0]
    return PickedDigit(image, code, label, f"link-{text}")


def from_link_start() -> bool:
    """Whether the current code started from a link's code rather than an image."""
    return st.session_state[ORIGIN_KEY][1].startswith("link-")


def start_caption() -> str:
    return "The link's start, decoded" if from_link_start() else say("The digit")


def randomise(net, codes: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> None:
    """A code from the model's prior where it has one, else from the real codes' spread."""
    if net.has_prior:
        code = net.sample_prior(1)[0]
        st.session_state["sliders_random_from"] = "the model's prior"
    else:
        code = sample_codes(codes, 1)[0]
        st.session_state["sliders_random_from"] = "a Gaussian fitted to the images' codes"
    set_code(code, low, high)


def slider_help(summary, dimension: int) -> str:
    return f"{summary.importance_kind} {float(summary.importance[dimension]):.3g}"


def browser_sliders(model, original: torch.Tensor, code: torch.Tensor, label: int,
                    low: torch.Tensor, high: torch.Tensor, summary) -> None:
    """The digit, every dimension's slider and the code decoded in the browser as they move."""
    dims = [{"index": int(d), "low": float(low[d]), "high": float(high[d]),
             "step": float(high[d] - low[d]) / SLIDER_STEPS, "help": slider_help(summary, d)}
            for d in summary.order]
    net = model.checkpoint.model
    # Shown until the browser's decoder is ready (a first visit waits for its runtime).
    decoded = decode_codes(net, code.unsqueeze(0), labels_for(model.checkpoint, label, 1))
    live_view(model, "sliders", "sliders_live",
              {"dims": dims, "code": code.tolist(), "label": label,
               "original": [round(value, 3) for value in original.flatten().tolist()],
               "original_caption": start_caption(),  # "The garment" for clothes
               "placeholder": [round(value, 3) for value in decoded.flatten().tolist()],
               "revision": st.session_state.get(REVISION_KEY, 0),
               "attributes": slider_attributes(model)},
              on_code=keep_code)


def server_sliders(model, original: torch.Tensor, label: int, low: torch.Tensor,
                   high: torch.Tensor, dimensions: list[int], summary) -> None:
    """The server path: the first sliders, and the digit decoded at each step."""
    net = model.checkpoint.model
    code = st.session_state[CODE_KEY]
    for dimension in dimensions:  # a step has already written its slider's value here
        key = slider_key(dimension)
        if key not in st.session_state:  # shown again after being hidden
            st.session_state[key] = float(code[dimension])
        code[dimension] = st.session_state[key]
    start, picture, controls = st.columns([1, 1, 3], gap="medium")
    # The decoded digit is drawn before the sliders, so its message leaves first.
    decoded = guarded("Decoding the code", decode_codes, net, code.unsqueeze(0),
                      labels_for(model.checkpoint, label, 1))
    if decoded is not None:
        picture.image(image_png(decoded[0], scale=10), caption="Decoded from the sliders",
                      output_format="PNG")
    start.image(image_png(original, scale=10), caption=start_caption(), output_format="PNG")
    columns = controls.columns(2)
    for position, dimension in enumerate(dimensions):
        low_d, high_d = float(low[dimension]), float(high[dimension])
        columns[position % 2].slider(
            f"z[{dimension}]", low_d, high_d, step=(high_d - low_d) / SLIDER_STEPS,
            format="%.2f", key=slider_key(dimension), help=slider_help(summary, dimension))


def decoder_panel(model, original: torch.Tensor, start: torch.Tensor, label: int,
                  low: torch.Tensor, high: torch.Tensor, dimensions: list[int], summary,
                  codes: torch.Tensor, browser_problem: str | None) -> None:
    """The digit, the buttons that set the code, and the sliders (browser or server)."""
    net = model.checkpoint.model
    reset, shuffle, where, space = st.columns([1.3, 1, 1.3, 1.7])  # "Reset to the garment"
    reset.button("Reset to the link's start" if from_link_start() else say("Reset to the digit"),
                 key="sliders_reset", on_click=set_code,
                 args=(start, low, high), icon=":material/restart_alt:")
    shuffle.button("Randomise", key="sliders_randomise", on_click=randomise,
                   args=(net, codes, low, high), icon=":material/casino:")
    in_browser = where.toggle("Decode in the browser", value=True, key=BROWSER_KEY,
                              help=say("The digit follows the hand while you drag; off, each step "
                                   "is decoded by the server"))
    with space:
        if "sliders_random_from" in st.session_state:
            st.caption(f"Random codes come from {st.session_state['sliders_random_from']}.")
        if net.is_conditional:
            label = st.selectbox("Draw as class", range(net.config.num_classes),
                                 index=url_state.chosen("sliders_class", label),
                                 key="sliders_class",
                                 help="Same code (the style), another digit")
    url_state.show({url_state.CLASS: str(label) if net.is_conditional else None})
    reason = browser_problem if in_browser else None
    if reason is not None:
        st.caption(f":material/info: Decoding on the server: {reason}.")
        retry_button("sliders_retry_browser")
    code_panel(model, original, start, label, low, high, dimensions, summary, codes,
               in_browser and reason is None)


@st.fragment
def code_panel(model, original: torch.Tensor, start: torch.Tensor, label: int, low: torch.Tensor,
               high: torch.Tensor, dimensions: list[int], summary, codes: torch.Tensor,
               in_browser: bool) -> None:
    """What follows the code: a release (browser) or a step (server) reruns only this."""
    net = model.checkpoint.model
    if in_browser and problem(model) is not None:
        st.rerun(scope="app")  # the browser just failed: the whole page takes the server path
    # On a projector a 2-D code's plane sits beside the live digit, both on the first screen.
    beside = None
    if in_browser and len(st.session_state[CODE_KEY]) == 2 and presenting():
        live, beside = st.container(key=SIDE_BY_SIDE).columns(2, gap="small")
        with live:
            browser_sliders(model, original, st.session_state[CODE_KEY], label, low, high,
                            summary)
    elif in_browser:
        browser_sliders(model, original, st.session_state[CODE_KEY], label, low, high, summary)
    else:
        server_sliders(model, original, label, low, high, dimensions, summary)
        server_attribute_sliders(model, CODE_KEY, st.session_state.get(REVISION_KEY, 0),
                                 keep_code)
    code = st.session_state[CODE_KEY]
    url_state.show({url_state.CODE: url_state.code_param(code, start)})
    moved = int((code != start).sum())
    since = "the link's starting code" if from_link_start() else say("the digit's code")
    st.caption(f"{moved} of {len(code)} dimensions moved from {since} · distance "
               f"{float((code - start).norm()):.2f}")
    if net.is_conditional:
        class_grid(net, code)
    if len(code) != 2:
        return
    manifold = guarded("Decoding the manifold", manifold_png, model.key, model.checkpoint,
                       tuple(summary.low.tolist()), tuple(summary.high.tolist()),
                       MANIFOLD_SIZE, label if net.is_conditional else None)
    if manifold is None:
        return
    plane, chart = st.columns([1, 1], gap="large")
    if beside is not None:  # the plane is up beside the live digit: the chart takes its place
        plane, chart = beside, plane
    with chart:
        figure = manifold_figure(manifold, MANIFOLD_SIZE, summary.low.tolist(),
                                 summary.high.tolist(), point=code.tolist())
        add_ellipses(figure, spread_of(model, original, label))  # a VAE's mean ± spread
        st.plotly_chart(figure, key="sliders_manifold", config=PROJECTOR_PNG)
        st.caption("The decoder's view of the whole 2-D code space; the cross is the code of "
                   "the sliders.")
    if in_browser:
        with plane:
            st.markdown("**Point at the code plane**: the digit under the pointer is decoded "
                        "as you move.")
            live_view(model, "plane", "sliders_plane",
                      {"low": summary.low.tolist(), "high": summary.high.tolist(),
                       "code": code.tolist(), "label": label, "points": codes[::10].tolist(),
                       "ellipse": ellipse_data(spread_of(model, original, label))})


st.title("Bottleneck sliders")
model = require_model()
say = wording(model)  # the words for the model's kind of images
copy_link("sliders_link")
link = url_state.from_link((url_state.DIGIT, url_state.CODE, url_state.CLASS, url_state.FROM))
# Early, so the browser loads its runtime and the decoder while the server draws the page.
browser_problem = send_decoder(model) if st.session_state.get(BROWSER_KEY, True) else None
checkpoint = model.checkpoint
net = checkpoint.model
digits = own_dataset(model)
encoded = own_codes(model)
summary = latent_summary(model)
latent_dim = encoded.codes.shape[1]

sent = st.session_state.pop(state.SELECTED_DIGIT, None)  # a message: followed once
if sent is not None and (sent == DRAWING or 0 <= int(sent) < len(digits)):
    send_to_picker("sliders_digit", int(sent))
    st.session_state.pop(LINKED_KEY, None)
start_from_link(link, model, latent_dim)
linked = url_state.int_from_link(link, url_state.DIGIT, 0, len(digits) - 1)
if linked is not None:
    send_to_picker("sliders_digit", linked)

pick, view = st.columns([3, 2], gap="large")
link_start = linked_start(model)  # a drawing's link: its code, not an image, is the start
with pick:
    if link_start is None:
        index = digit_picker("sliders_digit", digits, "Start from an image")
        st.caption(f"From the {set_label(own_source(model))}, the images this model knows.")
    else:
        index = DRAWING
        st.markdown("**Start from the link's code**")
        st.image(image_png(link_start.image, scale=3), output_format="PNG",
                 caption="The link's starting code, decoded")
        st.caption(say("This link was made from a drawing: the drawing itself is not in the "
                       "link, only its code, decoded here. The sliders count moves from it."))
        st.button("Start from an image instead", key="sliders_unlink",
                  on_click=st.session_state.pop, args=(LINKED_KEY, None),
                  icon=":material/image:")
url_state.show({url_state.DIGIT: None if index == DRAWING else str(index)})
with view:
    measure = ("mean KL from the prior" if summary.importance_kind == "KL"
               else f"variance across the {own_noun(model)}")
    st.markdown(f"**{latent_dim}** code dimensions, the ones that matter most first "
                f"(by {measure}).")
    server_sliders_shown = not st.session_state.get(BROWSER_KEY, True)  # the browser shows all
    show_all = server_sliders_shown and latent_dim > FIRST_SLIDERS and st.toggle(
        f"Show all {min(latent_dim, MAX_SLIDERS)} dimensions", key="sliders_show_all")
dimensions = summary.order[:MAX_SLIDERS if show_all else FIRST_SLIDERS]
if show_all and latent_dim > MAX_SLIDERS:
    st.caption(f"The {latent_dim - MAX_SLIDERS} least important dimensions keep their values.")

picked = link_start or picked_digit(index, model)  # a dataset digit, a drawing, a link's code
start, label = picked.code, picked.label
# A drawing's start is no digit a link can name: the link carries its code instead.
url_state.show({url_state.FROM: None if picked.origin.isdigit()
                else url_state.code_param(start, None)})
low, high = torch.minimum(summary.low, start), torch.maximum(summary.high, start)
if st.session_state.get(ORIGIN_KEY) != (model.key, picked.origin) or \
        CODE_KEY not in st.session_state:
    set_code(start, low, high)
    st.session_state[ORIGIN_KEY] = (model.key, picked.origin)
    st.session_state["sliders_class"] = label
    st.session_state.pop("sliders_random_from", None)
linked_code = url_state.code_from_link(link, start)
if linked_code is not None:
    set_code(linked_code, low, high)
if net.is_conditional:
    url_state.choice_from_link(link, url_state.CLASS, range(net.config.num_classes),
                               "sliders_class")
if has_codebook(net):
    vq_editor(model, picked.origin, picked.image)
    st.subheader("The same code as continuous numbers")
    st.caption(f"The {latent_dim} numbers below are the entries' vectors, position by "
               "position; a slider moves one off the codebook, which the decoder still reads.")
decoder_panel(model, picked.image, start, label, low, high, dimensions, summary,
              encoded.codes, browser_problem)
effects_panel(model)  # the thickness / slant / width sliders, measured (ui/attribute_panel.py)
resample_panel(model, picked.image, label)  # a VAE's mu + sigma * eps (ui/uncertainty_panel.py)

st.subheader("Traversal: one dimension swept, everything else held")
dimension = st.selectbox("Dimension", summary.order[:MAX_SLIDERS], key="sliders_traverse_dim",
                         format_func=lambda d: f"z[{d}] ({summary.importance_kind} "
                                               f"{float(summary.importance[d]):.3g})")
classes = len(digits.class_names)
others = [int(torch.nonzero(digits.labels == (label + step) % classes)[0, 0])
          for step in range(1, TRAVERSE_DIGITS)]
values = torch.linspace(float(summary.low[dimension]), float(summary.high[dimension]),
                        TRAVERSE_STEPS)
row_codes = [start, *encoded.codes[others]]  # the chosen digit first, dataset digit or drawing
sweep = torch.cat([traverse(code, dimension, values) for code in row_codes])
row_labels = torch.tensor([label, *digits.labels[others].tolist()]).repeat_interleave(
    TRAVERSE_STEPS)
images = guarded("Decoding the traversal", decode_codes, net, sweep,
                 row_labels if net.is_conditional else None)
if images is not None:
    st.image(grid_png(images, columns=TRAVERSE_STEPS, scale=3), output_format="PNG",
             caption=say(f"Each row is one digit's code with z[{dimension}] swept from "
                         f"{values[0]:.2f} to {values[-1]:.2f}."))
    # For slides: the first row as an animation, the grid as a picture, each made when clicked
    # (a GIF and a projector PNG on every visit were a quarter of the page's server time).
    gif, png = st.columns(2)
    gif.download_button("The first row as an animated GIF",
                        partial(strip_gif, images[:TRAVERSE_STEPS], scale=16),
                        file_name=f"traversal_z{dimension}.gif", mime="image/gif",
                        key="sliders_traverse_gif", icon=":material/animation:",
                        on_click="ignore")
    png.download_button("The grid as a PNG for a projector",
                        partial(projector_grid_png, images, columns=TRAVERSE_STEPS),
                        file_name=f"traversal_z{dimension}.png", mime="image/png",
                        key="sliders_traverse_png", icon=":material/image:", on_click="ignore")

kl_panel(model)
sparsity_panel(model)
