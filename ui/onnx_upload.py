"""Your own model in the sidebar: an encoder and a decoder exported to ONNX (two .onnx files,
or one .zip holding both), checked by ae_core.onnx_model and made the active model; a pair
shown can be kept in saved_models/ for every session, as one .onnx.zip."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from ae_core.onnx_model import (
    PAIR_SUFFIX,
    OnnxModelError,
    is_onnx_pair,
    load_onnx_files,
    load_onnx_zip,
    save_onnx_pair,
)
from ui import state
from ui.models import ActiveModel, add_session_model, is_session_key
from ui.plain_text import inert

GENERATION = "sidebar_onnx_generation"  # bumped to empty the uploader once it was read
NOTE = "sidebar_onnx_note"  # one line: waiting for the decoder, or where a pair was kept
HELP = ("An autoencoder of your own, exported with torch.onnx.export (or tf2onnx): the "
        "encoder takes [N, 1, 28, 28] or [N, 784] pixels in [0, 1] and gives a code [N, D] "
        "(or a mean and a log-variance); the decoder takes [N, D] and gives [N, 1, 28, 28] or "
        "[N, 784]. Name them encoder.onnx and decoder.onnx; a .zip may add a model.json with "
        '{"name", "kind": "mnist" or "fashion-mnist", "decoder_outputs": "probabilities" or '
        '"logits"}.')


def _key() -> str:
    return f"sidebar_onnx_upload_{st.session_state.get(GENERATION, 0)}"


def _pair_name(names: list[str]) -> str:
    """What two files' names share ("my_encoder.onnx", "my_decoder.onnx" -> "my")."""
    stems = [Path(name).stem.lower() for name in names]
    for word in ("encoder", "decoder", "enc", "dec"):
        stems = [stem.replace(word, "") for stem in stems]
    shared = stems[0] if len(set(stems)) == 1 else ""
    return shared.strip("_-. ") or "onnx model"


def _handle() -> None:
    uploads = st.session_state.get(_key()) or []
    zips = [upload for upload in uploads if upload.name.lower().endswith(".zip")]
    pair = [upload for upload in uploads if upload.name.lower().endswith(".onnx")]
    if not zips and len(pair) < 2:
        st.session_state[NOTE] = (f"{pair[0].name} is in: add the "
                                  f"{'decoder' if 'enc' in pair[0].name.lower() else 'other'} "
                                  f".onnx too" if pair else None)
        return
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    st.session_state.pop(NOTE, None)
    names = ", ".join(upload.name for upload in (zips or pair)[-2:])
    try:
        if zips:
            checkpoint = load_onnx_zip(zips[-1].getvalue(), zips[-1].name)
        else:
            files = {upload.name: upload.getvalue() for upload in pair[-2:]}
            checkpoint = load_onnx_files(files, _pair_name(list(files)))
    except OnnxModelError as error:
        st.session_state[state.UPLOAD_ERROR] = f"{names} was not loaded: {error}"
        return
    st.session_state.pop(state.UPLOAD_ERROR, None)
    add_session_model(checkpoint.info["name"], checkpoint)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60] or "onnx_model"


def keep_pair(model: ActiveModel) -> Path:
    """Save this session's pair in saved_models/ as <name>.onnx.zip, never replacing a file
    (a taken name gets -2, -3, ...)."""
    stem = _safe_name(model.checkpoint.info.get("name", "onnx_model"))
    for count in range(1, 1000):
        path = state.SAVED_DIR / f"{stem if count == 1 else f'{stem}-{count}'}{PAIR_SUFFIX}"
        try:
            return save_onnx_pair(path, model.checkpoint)
        except FileExistsError:
            continue
    raise FileExistsError(f"{stem}: every name is taken")


def _keep(model: ActiveModel) -> None:
    try:
        path = keep_pair(model)
    except OSError as error:
        print(f"ONNX pair not kept: {error}", flush=True)  # the path goes to the server log only
        st.session_state[NOTE] = f"Not kept: {error.strerror or 'the file could not be written'}"
        return
    st.session_state[NOTE] = f"Kept as saved: {path.name.removesuffix(PAIR_SUFFIX)}"


def onnx_uploader(model: ActiveModel | None) -> None:
    """The uploader for an ONNX pair, its note, and Keep for a pair uploaded in this session."""
    st.file_uploader("Or your own model (ONNX encoder + decoder, or a .zip)",
                     type=["onnx", "zip"], accept_multiple_files=True, key=_key(),
                     on_change=_handle, help=HELP)
    if st.session_state.get(NOTE):
        st.caption(inert(st.session_state[NOTE]))  # names a file gave: text, not markdown
    if model is not None and is_onnx_pair(model.checkpoint):
        info = model.checkpoint.info
        batch = {info["encoder_batch"], info["decoder_batch"]}
        st.caption(f"ONNX pair ({info['kind']}): its decoder gives {info['decoder_outputs']}; "
                   f"batch {' / '.join(map(str, sorted(batch, key=str)))}; "
                   f"{info['probe_ms_per_image']:.2f} ms per digit on the probe. Training, "
                   f"fine-tuning and a prior need its insides: not here.")
    if model is not None and is_onnx_pair(model.checkpoint) and is_session_key(model.key):
        st.button("Keep this ONNX model", key="sidebar_onnx_keep", icon=":material/save:",
                  on_click=_keep, args=(model,),
                  help="Save it in saved_models/, listed for every session")
