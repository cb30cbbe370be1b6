"""Latent Lab: `streamlit run app.py`. Sets the page config and routes the pages."""

import streamlit as st
import torch

from ui.button_labels import wrap_button_labels
from ui.classroom import classroom_bar, present_mode, present_toggle
from ui.memory import freeze_after_first_run, start_trimmer
from ui.models import missing_images_note, resolve_active_model
from ui.projections import warm_up as warm_up_umap
from ui.sidebar import sidebar
from ui.sources import wording
from ui.start_up import warm_up_first_visits

# One intra-op thread: the app's tensors are small (one code, a few thousand digits), and with
# several threads OpenMP's barriers spin whenever another process or session holds a core: an
# epoch took 24 s with 2 threads against 1.9 s with 1 on a busy 2-core machine
# (benchmarks/README.md). Sessions run in threads of their own, so they still use every core.
torch.set_num_threads(1)

st.set_page_config(page_title="Latent Lab", page_icon="static/latent_lab/icon.png", layout="wide")

# Link, tour, picker, training: one model for this run, set once, before anything reads it.
active = resolve_active_model()
PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/sliders.py", title="Bottleneck sliders", icon=":material/tune:"),
    st.Page("app_pages/interpolate.py", title="Interpolation", icon=":material/timeline:"),
    st.Page("app_pages/draw.py", title=wording(active)("Draw a digit"), icon=":material/draw:"),
    st.Page("app_pages/samples.py", title="Samples", icon=":material/grid_view:"),
    st.Page("app_pages/ae_vs_vae.py", title="AE vs VAE", icon=":material/compare:"),
    st.Page("app_pages/few_labels.py", title="Few labels", icon=":material/label:"),
    st.Page("app_pages/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
    st.Page("app_pages/denoise.py", title="Denoising", icon=":material/auto_fix_high:"),
    st.Page("app_pages/anomaly.py", title="Anomaly detection", icon=":material/warning:"),
    st.Page("app_pages/bottleneck.py", title="Bottleneck effect", icon=":material/trending_down:"),
]

presenting = present_mode()  # ?present=1 or the toggle: classroom mode, no navigation
page = st.navigation(PAGES, position="hidden" if presenting else "sidebar")
sidebar()  # drawn while presenting too (hidden): the picker keeps the active model
present_toggle()
classroom_bar(page.url_path, presenting)  # a tour's step and its controls, above the page
missing_images_note(active)  # a model trained on images that are not here
wrap_button_labels()  # a label wider than its column wraps rather than ends in "…"
page.run()
warm_up_umap()  # after the page is drawn: compiles UMAP in a thread, once per server
warm_up_first_visits()  # and the imports every first visit would wait for (ui/start_up.py)
start_trimmer()  # gives a room's memory back once its sessions have gone (ui/memory.py)
freeze_after_first_run()  # the imports' objects out of every later garbage collection
