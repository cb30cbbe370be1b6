"""Placeholder until this page is built."""

import streamlit as st

st.title("denoise")
st.info("This page is being built.")
