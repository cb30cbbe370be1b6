"""Placeholder until this page is built."""

import streamlit as st

st.title("anomaly")
st.info("This page is being built.")
