"""Your own images on the Train page: an uploaded .zip (or .npz) becomes this session's data
set.

The file is kept, as uploaded, in a temporary folder of the session's own (removed when another
upload replaces it, or when the session ends) and read by ae_core.own_images, so a training
run names it by path like any dataset. A refused upload keeps nothing.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st
import torch

from ae_core.data import DataError
from ae_core.figures import grid_png
from ae_core.own_images import MAX_BYTES, load_own_images
from ui import state
from ui.plain_text import inert

UPLOAD_KEY = "train_images_upload"
PREVIEW_PER_CLASS = 8  # images per row of the preview, one row per class
PREVIEW_CLASSES = 12  # rows of the preview at most


@dataclass
class SessionImages:
    """The images this session uploaded: where the zip lies, and what the page shows of it."""

    path: Path  # the .zip or .npz, alone in its own temporary folder
    file_id: str  # the upload it came from
    class_names: tuple[str, ...]
    counts: tuple[int, ...]  # images per class, train and test together
    train_count: int
    test_count: int
    preview: bytes  # PNG: a row of images per class
    _remove: weakref.finalize = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The folder goes when this record does: replaced, or dropped with the session.
        self._remove = weakref.finalize(self, shutil.rmtree, self.path.parent, True)

    @property
    def source(self) -> str:
        """The dataset as TrainConfig names it."""
        return str(self.path)

    def label(self) -> str:
        return f"Your images: {self.path.name} ({len(self.class_names)} classes)"

    def remove(self) -> None:
        self._remove()


def _file_name(name: str) -> str:
    """The upload's own name, made safe for a file: letters.zip, my_letters.zip, x.npz."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).stem).strip("._")[:48]
    suffix = ".npz" if name.lower().endswith(".npz") else ".zip"
    return f"{stem or 'images'}{suffix}"


def _preview(images) -> bytes:
    """A row of up to PREVIEW_PER_CLASS training images per class (blank where fewer)."""
    rows = []
    for label in range(min(len(images.class_names), PREVIEW_CLASSES)):
        members = images.train.images[images.train.labels == label][:PREVIEW_PER_CLASS]
        row = torch.zeros(PREVIEW_PER_CLASS, 28, 28, dtype=torch.uint8)
        row[:len(members)] = members
        rows.append(row)
    return grid_png(torch.cat(rows).unsqueeze(1).float() / 255, columns=PREVIEW_PER_CLASS,
                    scale=2)


def receive(name: str, data: bytes, file_id: str) -> SessionImages:
    """An upload read into a new temporary folder; DataError (the folder gone) if refused."""
    if len(data) > MAX_BYTES:
        raise DataError(f"{name}: {len(data) / 2**20:.0f} MB is more than the "
                        f"{MAX_BYTES // 2**20} MB limit")
    folder = Path(tempfile.mkdtemp(prefix="latent-lab-images-"))
    path = folder / _file_name(name)
    try:
        path.write_bytes(data)
        images = load_own_images(path)
    except (DataError, OSError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(error, OSError):
            raise DataError(f"{name}: could not be kept ({error.strerror or error})") from None
        raise
    labels = torch.cat([images.train.labels, images.test.labels])
    counts = tuple(int((labels == label).sum()) for label in range(len(images.class_names)))
    return SessionImages(path, file_id, images.class_names, counts, len(images.train),
                         len(images.test), _preview(images))


def images_panel() -> SessionImages | None:
    """The uploader and this session's images: what a training run may pick as its dataset.

    A new upload is read once; accepted, it replaces the last one and becomes the dataset
    picked below; refused, one line says why and the last one stays.
    """
    current = st.session_state.get(state.OWN_IMAGES)
    with st.expander("Your own images", expanded=current is not None,
                     icon=":material/photo_library:"):
        upload = st.file_uploader(
            "A .zip of your images", type=["zip", "npz"], key=UPLOAD_KEY,
            help="One folder per class (the folder names are the class names), PNG, JPEG or "
                 "BMP of any size or colour; or an .npz with x (N x H x W) and y, alone or in "
                 "the zip. Each image is brought to 28x28 the MNIST way, like a drawing on the "
                 "Draw page")
        refused = st.session_state.get(state.OWN_IMAGES_REFUSED)
        if upload is not None and upload.file_id not in (
                getattr(current, "file_id", None), refused and refused[0]):
            try:
                with st.spinner("Reading the images…"):
                    received = receive(upload.name, upload.getvalue(), upload.file_id)
            except DataError as error:
                refused = (upload.file_id, f"These images cannot be used: {error}")
                st.session_state[state.OWN_IMAGES_REFUSED] = refused
            else:
                if current is not None:
                    current.remove()
                current = st.session_state[state.OWN_IMAGES] = received
                st.session_state.pop(state.OWN_IMAGES_REFUSED, None)
                refused = None
                st.session_state["train_dataset"] = current.source  # train on them
        if refused is not None and upload is not None and upload.file_id == refused[0]:
            st.error(inert(refused[1]))  # names from the upload: text, not markdown
        if current is not None:
            st.image(current.preview, output_format="PNG",
                     caption=" · ".join(f"{inert(name)}: {count}" for name, count in
                                        zip(current.class_names, current.counts, strict=True))
                     + f" ({current.train_count} to train on, {current.test_count} held out "
                       f"to test)")
    return current
