"""Latent Lab's library: data, model families, training, checkpoints and latent tools.

Never imports streamlit; the app's pages only call into it.
"""

__version__ = "0.1.0"
