"""Streamlit-only helpers for the pages: session-state keys, cached loaders, shared widgets.

Everything that computes lives in ae_core; this package only caches and draws.
"""
