"""Placeholder until this page is built."""

import streamlit as st

st.title("latent_map")
st.info("This page is being built.")
