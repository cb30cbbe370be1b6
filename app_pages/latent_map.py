"""Latent map: every image's code projected to 2-D or 3-D; click a point to see its digit."""

from __future__ import annotations

import importlib.util
import time

import streamlit as st
import torch

from ae_core.figures import add_prior_layer, grid_png, latent_map, latent_map_3d, latent_map_png
from ae_core.figures.lecture import PROJECTOR_PNG
from ae_core.latent import decode_codes, nearest_neighbours
from ae_core.projection import (
    DEFAULT_MIN_DIST,
    DEFAULT_NEIGHBOURS,
    DEFAULT_PERPLEXITY,
    MAX_3D_POINTS,
    PCAProjection,
    map_csv,
    subsample,
)
from ui import state, url_state
from ui.attribute_panel import custom_axes_section
from ui.browser_decoder import live_view, send_decoder
from ui.copy_link import copy_link
from ui.models import active_model, require_model
from ui.plain_text import inert
from ui.projections import ProjectionRequest, map_projection, projection_jobs
from ui.sources import encoded, home_first, load_source, own_source, set_label, wording
from ui.uncertainty_panel import add_ellipses, spread_of

METHOD_LABELS = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE (slow)"}
COLOURINGS = {"label": "Class", "error": "Reconstruction error"}
VIEWS = {2: "2-D", 3: "3-D"}
# Points drawn at once (a seeded uniform subsample, or "all"). Every point is projected;
# drawing 70,000 costs seconds of JSON per rerun, 5,000 keep the page quick (benchmarks/).
POINT_COUNTS = (1000, 2000, 5000, 10_000, 20_000, 50_000, "all")
DEFAULT_POINTS = 5000
SELECTED_KEY = "latent_map_selected"  # dataset indices the details panel shows
PICKED_VIEW_KEY = "latent_map_picked_view"  # the map a chart selection was made on
DRAWN_VIEW_KEY = "latent_map_drawn_view"  # the map drawn last
CLEARS_KEY = "latent_map_clears"  # bumped on "Clear selection": a new figure drops highlights
MAX_SHOWN = 24  # selected digits drawn at once
PRIOR_SAMPLES = 2000  # an adversarial AE's prior drawn under its codes
NEIGHBOURS = 8

st.title("Latent map")
say = wording(active_model())  # the words for the active model's kind of images
st.markdown(say(
    "Every image becomes one point: its code, squeezed to two dimensions. Digits the model "
    "finds alike land close together. **Hover** a point to see which image it is, **click** "
    "it (or drag a box or lasso) to see the digit, what the model rebuilds, and its nearest "
    "neighbours in the code space."))
model = require_model()
copy_link("latent_map_link")
link = url_state.from_link((url_state.PROJECTION, url_state.COLOUR, url_state.VIEW))
url_state.choice_from_link(link, url_state.PROJECTION, METHOD_LABELS, "latent_map_method")
url_state.choice_from_link(link, url_state.COLOUR, COLOURINGS, "latent_map_colour")
url_state.choice_from_link(link, url_state.VIEW, VIEWS, "latent_map_view")
if link.get(url_state.VIEW) == "3" and model.checkpoint.model.latent_dim < 3:
    url_state.refuse(url_state.VIEW, "3", "asks for a 3-D view of a 2-number code")


def _grid_width(columns: int, scale: int) -> int:
    """Pixel width of an ae_core.figures grid (28-pixel digits, 2-pixel gaps): shown 1:1."""
    return (30 * columns - 2) * scale


def _select(indices: list[int]) -> None:
    st.session_state[SELECTED_KEY] = indices
    st.session_state.pop(PICKED_VIEW_KEY, None)
    if not indices:
        st.session_state[CLEARS_KEY] = st.session_state.get(CLEARS_KEY, 0) + 1


def _picked_on_chart() -> None:
    """The chart's on_select callback: only a user's new selection (or deselection) calls it."""
    event = st.session_state.get("latent_map_chart")
    points = event["selection"]["points"] if event else []
    chosen = list(dict.fromkeys(int(point["customdata"][0]) for point in points
                                if point.get("customdata")))
    _select(chosen)
    if chosen:
        st.session_state[PICKED_VIEW_KEY] = st.session_state.get(DRAWN_VIEW_KEY)


def _select_typed() -> None:
    _select([int(st.session_state["latent_map_index"])])


def _settings(dims: int) -> tuple[str, ProjectionRequest]:
    """The form: data and projection, applied together (a UMAP run is not free)."""
    sources = home_first(model)  # every kind's sets, the model's own first
    with st.form("latent_map_form", border=True):
        data_column, method_column, umap_column, tsne_column = st.columns([3, 2, 3, 2])
        source = data_column.selectbox("Images", sources, format_func=set_label,
                                       key="latent_map_source")
        methods = list(METHOD_LABELS)
        method = method_column.radio("Projection", methods, format_func=METHOD_LABELS.get,
                                     index=methods.index(url_state.chosen("latent_map_method",
                                                                          methods[0])),
                                     key="latent_map_method",
                                     help="PCA is instant and linear; UMAP keeps neighbourhoods "
                                          "(clusters) and takes a few seconds; t-SNE too, slower.")
        neighbours = umap_column.slider("UMAP neighbours", 2, 100, DEFAULT_NEIGHBOURS,
                                        key="latent_map_neighbours",
                                        help="More neighbours: more global structure.")
        min_dist = umap_column.slider("UMAP minimum distance", 0.0, 0.99, DEFAULT_MIN_DIST,
                                      0.05, key="latent_map_min_dist",
                                      help="Smaller: tighter clusters.")
        perplexity = tsne_column.slider("t-SNE perplexity", 5, 100, int(DEFAULT_PERPLEXITY),
                                        key="latent_map_perplexity")
        data_column.form_submit_button("Draw map", type="primary", icon=":material/scatter_plot:")
    return source, ProjectionRequest(model.key, source, method, int(neighbours),
                                     float(round(min_dist, 2)), float(perplexity), dims)


# A 2-D code is its own map: a third axis would be invented, so 3-D needs 3 numbers or more.
can_3d = model.checkpoint.model.latent_dim >= 3
view_column, colour_column, points_column = st.columns([1, 2, 1])
dims = view_column.segmented_control(
    "View", list(VIEWS), format_func=VIEWS.get, default=url_state.chosen("latent_map_view", 2),
    key="latent_map_view",
    disabled=not can_3d,
    help="3-D: the codes projected to three axes (PCA or UMAP); drag to turn, scroll to zoom."
    if can_3d else "This model's code has two numbers: the 2-D map is the whole code.") or 2
dims = dims if can_3d else 2
colour_by = colour_column.segmented_control(
    "Colour by", list(COLOURINGS), format_func=COLOURINGS.get,
    default=url_state.chosen("latent_map_colour", "label"), key="latent_map_colour") or "label"
source, request = _settings(dims)
url_state.show({url_state.PROJECTION: request.method, url_state.COLOUR: colour_by,
                url_state.VIEW: str(dims)})
dataset = load_source(source)
encoding_bar = st.empty()
codes_set = encoded(model, source, lambda done: encoding_bar.progress(
    done, f"Encoding {len(dataset):,} images in batches… {done:.0%}"))
encoding_bar.empty()
codes, errors, labels = codes_set.codes, codes_set.errors.numpy(), dataset.labels.numpy()
if not can_3d:
    st.caption("3-D view: not offered for this model. Its code has two numbers, so the 2-D "
               "map already shows the whole code, nothing squeezed.")
if dims == 3 and len(codes) > MAX_3D_POINTS:
    st.caption(f"3-D view: the first {MAX_3D_POINTS:,} of these {len(codes):,} images "
               f"(a WebGL scene of more turns slowly); the 2-D view maps them all.")
    codes, errors, labels = codes[:MAX_3D_POINTS], errors[:MAX_3D_POINTS], labels[:MAX_3D_POINTS]
current = map_projection(model, request, codes)
shown = current.shown
points_wanted = points_column.selectbox(
    "Points drawn", POINT_COUNTS, key="latent_map_points",
    index=POINT_COUNTS.index(DEFAULT_POINTS),
    format_func=lambda count: count if count == "all" else f"{count:,}",
    help="A random sample (always the same one) of the images is drawn; every image is "
         "projected. Fewer points keep a big map quick to redraw.")
drawn = subsample(len(codes), None if points_wanted == "all" else points_wanted)


@st.fragment(run_every=1.0)
def _wait_for(request: ProjectionRequest) -> None:
    """Polls the background job; the whole page redraws once the map is ready."""
    jobs = projection_jobs()
    status = jobs.get(request)
    if status is not None and status.future.done():
        st.rerun()
    name = METHOD_LABELS[request.method].removesuffix(" (slow)")
    waited = time.monotonic() - status.submitted if status else 0.0
    if jobs.warming_up() and (status is None or status.started is None):
        detail = "preparing UMAP once for this server (compiling its numba code)"
    else:
        detail = f"computing {name}"
    st.info(f"Showing **PCA** now; {detail}… {waited:.0f} s. The map switches to {name} by "
            f"itself when it is ready.", icon=":material/hourglass_top:")


if current.error:
    st.error(f"{METHOD_LABELS[request.method]} failed ({current.error}); showing PCA instead.")
elif current.job is not None or current.to_submit:
    _wait_for(request)
if shown.note:
    st.caption(f"{shown.name}: {shown.note}")

view = (model.key, source, shown.method, colour_by, dims)
selected = [index for index in st.session_state.get(SELECTED_KEY, []) if 0 <= index < len(codes)]
# Plotly highlights what was picked on this very map itself; any other selection (typed, or
# made before the map was redrawn) is ringed. Not changing the figure on a click keeps the
# user's zoom.
picked_here = st.session_state.get(PICKED_VIEW_KEY) == view
title = (f"{model.label.split(': ', 1)[-1]} · "
         f"{f'{len(drawn):,} of ' if len(drawn) < len(codes) else ''}{len(codes):,} images of "
         f"{set_label(source).split(' (')[0]} · {shown.name}")
if dims == 3:
    figure = latent_map_3d(shown.coords[drawn], labels[drawn], errors[drawn],
                           dataset.class_names, colour_by, shown.axis_titles, f"{title} · 3-D",
                           indices=drawn)
else:
    figure = latent_map(shown.coords[drawn], labels[drawn], errors[drawn], dataset.class_names,
                        colour_by, shown.axis_titles, title, [] if picked_here else selected,
                        indices=drawn)
figure.update_layout(uirevision=f"{model.key}|{source}|{shown.method}|{dims}",
                     meta={"clears": st.session_state.get(CLEARS_KEY, 0)})
if dims == 2 and model.checkpoint.model.codes_match_prior and codes.shape[1] >= 2 and \
        shown.method in ("identity", "pca"):
    # The adversary pushes the codes to fill the prior: draw the prior under them, placed by
    # the very projection the codes got (the same PCA refitted, or none for a 2-D code).
    prior = model.checkpoint.model.sample_prior(
        PRIOR_SAMPLES, torch.Generator().manual_seed(0)).cpu().numpy()
    if shown.method == "pca":
        prior = PCAProjection(2).fit(codes.numpy()).transform(prior)
    add_prior_layer(figure, prior, f"prior ({model.checkpoint.model.prior_name})")
    st.caption("Grey: samples of the model's prior. Training pushed the codes to fill it.")
if dims == 2 and shown.method == "identity" and selected:
    # A VAE's uncertainty: the encoder's mean ± spread of the first selected image
    first_image = dataset.subset(torch.tensor(selected[:1])).float_images()[0]
    add_ellipses(figure, spread_of(model, first_image, int(labels[selected[0]])))
st.session_state[DRAWN_VIEW_KEY] = view
# A 2-D code is its own map: the code under the pointer, empty space included, is decoded live
# beside it in the browser.
live = (dims == 2 and shown.method == "identity" and not model.checkpoint.model.is_conditional
        and send_decoder(model) is None)
chart_column, pointer_column = st.columns([4, 1]) if live else (st.container(), None)
with chart_column:
    if dims == 3:
        # Streamlit's chart selection covers 2-D traces only: in 3-D a point is named by its
        # hover label, and shown by typing its number below.
        st.plotly_chart(figure, key="latent_map_chart_3d",
                        config={**PROJECTOR_PNG, "displaylogo": False})
        st.caption("**Drag** to turn the scene, **scroll** to zoom, **hover** a point to see "
                   "which image it is; type its number under *Selected images* to see it.")
    else:
        st.plotly_chart(figure, on_select=_picked_on_chart,
                        selection_mode=("points", "box", "lasso"), key="latent_map_chart",
                        config={**PROJECTOR_PNG, "displaylogo": False})
if pointer_column is not None:
    with pointer_column:
        live_view(model, "map", "latent_map_live",
                  {"chart": ".st-key-latent_map_chart .js-plotly-plot",
                   "code": codes[0].tolist(), "label": None})


def _png() -> bytes:
    return latent_map_png(shown.coords[drawn], labels[drawn], errors[drawn],
                          dataset.class_names, colour_by, shown.axis_titles, title)


stem = f"latent_map_{source}_{shown.method}" + ("_3d" if dims == 3 else "")
downloads = st.columns(3)
downloads[0].download_button("Codes and map (CSV)",
                             lambda: map_csv(codes, shown.coords, labels, errors),
                             f"{stem}.csv", "text/csv",
                             icon=":material/table:", key="latent_map_csv", on_click="ignore")
has_matplotlib = importlib.util.find_spec("matplotlib") is not None  # comes with mlxtend
downloads[1].download_button("Map picture (PNG)", _png, f"{stem}.png", "image/png",
                             icon=":material/image:", key="latent_map_png", on_click="ignore",
                             disabled=not has_matplotlib or dims == 3,
                             help="The 2-D map only: a 3-D scene is best kept as HTML."
                             if dims == 3 else "Drawn with matplotlib, same colours as the chart."
                             if has_matplotlib else "Needs matplotlib (pip install matplotlib); "
                             "the HTML export works without it.")
downloads[2].download_button("Interactive map (HTML)",
                             lambda: figure.to_html(include_plotlyjs=True).encode(),
                             f"{stem}.html", "text/html", icon=":material/code:",
                             key="latent_map_html", on_click="ignore",
                             help="Opens in any browser, offline.")

if current.to_submit:
    # Started once the map is on its way to the browser, so it never delays it.
    projection_jobs().submit(request, codes)

# Custom axes: attribute or class-to-class directions (ui/attribute_panel.py)
custom_axes_section(model, source, codes.numpy(), labels, dataset.class_names)

st.subheader("Selected images")
pick, clear = st.columns([3, 1], vertical_alignment="bottom")
pick.number_input("Or show image number", 0, len(codes) - 1, value=None,
                  key="latent_map_index", on_change=_select_typed,
                  placeholder="an index from the hover label")
clear.button("Clear selection", on_click=_select, args=([],), key="latent_map_clear",
             disabled=not selected)
if not selected:
    st.caption("Nothing selected yet: click a point on the map.")
    st.stop()

shown_indices = selected[:MAX_SHOWN]
if len(selected) > MAX_SHOWN:
    st.caption(f"{len(selected)} images selected; the first {MAX_SHOWN} are shown.")
index_tensor = torch.tensor(shown_indices)
recon = decode_codes(model.checkpoint.model, codes[index_tensor], dataset.labels[index_tensor])
scale = 4 if len(shown_indices) <= 6 else 2
# The chosen images only, as floats (a 70,000-image source as floats would be 220 MB).
chosen_images = dataset.subset(index_tensor).float_images()
st.image(grid_png(torch.cat([chosen_images, recon]), columns=len(shown_indices),
                  scale=scale), output_format="PNG", width=_grid_width(len(shown_indices), scale),
         caption="Top: the selected images (" + ", ".join(
             f"#{index} {inert(dataset.class_names[labels[index]])}"  # names: from a file
             for index in shown_indices[:8])
         + ("…" if len(shown_indices) > 8 else "") + "). Bottom: their reconstructions.")

focus = shown_indices[0]
if len(shown_indices) > 1:
    focus = st.selectbox("Neighbours of", shown_indices, key="latent_map_focus",
                         format_func=lambda i: f"#{i} ({dataset.class_names[labels[i]]})")
near = [int(i) for i in nearest_neighbours(codes, codes[focus], NEIGHBOURS + 1)
        if int(i) != focus][:NEIGHBOURS]
near_images = dataset.subset(torch.tensor([focus, *near])).float_images()
st.image(grid_png(near_images, columns=NEIGHBOURS + 1, scale=3),
         output_format="PNG", width=_grid_width(NEIGHBOURS + 1, 3),
         caption=f"#{focus} and its {NEIGHBOURS} nearest neighbours in the code space: "
                 + ", ".join(f"#{i} {inert(dataset.class_names[labels[i]])}" for i in near))

if source != own_source(model):  # the other pages' indices are into the model's own images
    st.caption(f"The sliders and interpolation pages work on the {set_label(own_source(model))}: "
               f"pick it above to send an image there.")
    st.stop()
ends = list(st.session_state.get(state.INTERPOLATION_ENDS) or [None, None])
send = st.columns(4)
if send[0].button(f"Open #{focus} in the sliders", icon=":material/tune:",
                  key="latent_map_to_sliders"):
    st.session_state[state.SELECTED_DIGIT] = focus
    st.switch_page("app_pages/sliders.py")
if send[1].button(f"Interpolate from #{focus}", key="latent_map_start",
                  icon=":material/first_page:"):
    st.session_state[state.INTERPOLATION_ENDS] = [focus, ends[1]]
    st.toast(f"Interpolation starts at #{focus}")
if send[2].button(f"Interpolate to #{focus}", key="latent_map_end",
                  icon=":material/last_page:"):
    st.session_state[state.INTERPOLATION_ENDS] = [ends[0], focus]
    st.toast(f"Interpolation ends at #{focus}")
if len(shown_indices) >= 2:
    first, second = shown_indices[0], shown_indices[1]
    if send[3].button(f"Interpolate #{first} → #{second}", key="latent_map_pair",
                      icon=":material/timeline:"):
        st.session_state[state.INTERPOLATION_ENDS] = [first, second]
        st.switch_page("app_pages/interpolate.py")
elif any(end is not None for end in st.session_state.get(state.INTERPOLATION_ENDS) or []):
    if send[3].button("Open interpolation", key="latent_map_open_interpolation",
                      icon=":material/timeline:"):
        st.switch_page("app_pages/interpolate.py")
