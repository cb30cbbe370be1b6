"""The baseline for slider latency: the least a Streamlit slider that redraws an image can do."""

import numpy as np
import streamlit as st

value = st.slider("value", 0.0, 1.0, 0.5, step=0.01)
st.image(np.full((224, 224), int(value * 255), dtype=np.uint8), caption="Decoded from the sliders",
         output_format="PNG")
