"""Latent Lab: `streamlit run app.py`. Sets the page config and routes the pages."""

import streamlit as st

from ui.projections import warm_up as warm_up_umap
from ui.sidebar import sidebar

st.set_page_config(page_title="Latent Lab", page_icon=":material/science:", layout="wide")

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/sliders.py", title="Bottleneck sliders", icon=":material/tune:"),
    st.Page("app_pages/interpolate.py", title="Interpolation", icon=":material/timeline:"),
    st.Page("app_pages/latent_map.py", title="Latent map", icon=":material/scatter_plot:"),
    st.Page("app_pages/denoise.py", title="Denoising", icon=":material/auto_fix_high:"),
    st.Page("app_pages/anomaly.py", title="Anomaly detection", icon=":material/warning:"),
    st.Page("app_pages/bottleneck.py", title="Bottleneck effect", icon=":material/trending_down:"),
]

page = st.navigation(PAGES)
sidebar()
page.run()
warm_up_umap()  # after the page is drawn: compiles UMAP in a thread, once per server
