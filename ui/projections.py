"""UMAP / t-SNE computed in a background thread so no page ever waits on them, the UMAP
warm-up at app start, and what the latent map shows meanwhile (PCA at once).

The threads run ae_core code only (no streamlit calls); results live in one process-wide
registry (st.cache_resource), keyed by checkpoint, data and parameters, shared by sessions.
Which images and codes are projected comes from ui/sources.py.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass

import streamlit as st
import torch

from ae_core.projection import (
    METHOD_NAMES,
    Projection,
    precomputed_key,
    precomputed_projection,
    project,
    warm_up_umap,
)
from ui.memory import freeze_long_lived
from ui.models import ActiveModel, is_session_key

# Set to "0" to skip compiling UMAP at app start (page tests, which never wait for it).
WARM_UP_ENV = "LATENT_LAB_UMAP_WARMUP"
MAX_PROJECTIONS = 48  # finished projections kept (5,000 x 2 floats: 40 kB; 70,000: 560 kB)


@dataclass(frozen=True)
class ProjectionRequest:
    """Everything a projection depends on: the cache key."""

    model_key: str
    source: str
    method: str
    n_neighbors: int
    min_dist: float
    perplexity: float
    n_components: int = 2  # 3: the 3-D map

    @property
    def slow(self) -> bool:
        return self.method in ("umap", "tsne")


@dataclass
class JobStatus:
    future: Future
    submitted: float  # time.monotonic()
    started: float | None = None  # when it got the worker (after any warm-up)


class ProjectionJobs:
    """Process-wide registry: request -> Future, one slow projection computed at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[ProjectionRequest, JobStatus] = OrderedDict()
        self._worker = threading.Semaphore(1)  # UMAP and t-SNE each want the whole CPU
        self.warm_up_started: float | None = None
        self.warm_up_seconds: float | None = None
        self._watched: set[str] = set()  # session models whose projections go with them

    def release_with(self, model: ActiveModel) -> None:
        """Forget a session model's projections once its checkpoint is garbage: its session
        closed, and no other session can ask for them again."""
        with self._lock:
            if not is_session_key(model.key) or model.key in self._watched:
                return
            self._watched.add(model.key)
        weakref.finalize(model.checkpoint, self.forget, model.key)

    def forget(self, model_key: str) -> None:
        with self._lock:
            self._watched.discard(model_key)
            for request in [request for request in self._jobs if request.model_key == model_key]:
                del self._jobs[request]

    def get(self, request: ProjectionRequest) -> JobStatus | None:
        with self._lock:
            status = self._jobs.get(request)
            if status is not None:
                self._jobs.move_to_end(request)
            return status

    def put(self, request: ProjectionRequest, result: Projection) -> None:
        """Store a projection computed elsewhere (PCA, a precomputed map)."""
        future: Future = Future()
        future.set_result(result)
        with self._lock:
            self._jobs[request] = JobStatus(future, time.monotonic(), time.monotonic())
            self._evict()

    def submit(self, request: ProjectionRequest, codes: torch.Tensor) -> JobStatus:
        """Start computing `request` on a daemon thread unless it is known already."""
        with self._lock:
            status = self._jobs.get(request)
            if status is not None and not (status.future.done()
                                           and status.future.exception() is not None):
                return status
            status = JobStatus(Future(), time.monotonic())
            self._jobs[request] = status
            self._evict()
        codes = codes.detach().cpu().clone()
        threading.Thread(target=self._run, args=(request, codes, status), daemon=True,
                         name=f"latent-lab-{request.method}").start()
        return status

    def warm_up(self) -> None:
        """Compile UMAP once per process in a daemon thread (holds the worker meanwhile)."""
        with self._lock:
            if self.warm_up_started is not None:
                return
            self.warm_up_started = time.monotonic()
        threading.Thread(target=self._warm_up, daemon=True, name="latent-lab-umap-warmup").start()

    def warming_up(self) -> bool:
        return self.warm_up_started is not None and self.warm_up_seconds is None

    def _warm_up(self) -> None:
        _lower_priority()
        with self._worker:
            try:
                self.warm_up_seconds = warm_up_umap()
            except Exception:  # a failed warm-up only means the first real fit compiles
                self.warm_up_seconds = float("nan")
        freeze_long_lived()  # numba's compiled objects join the imports' (ui/memory.py)

    def _run(self, request: ProjectionRequest, codes: torch.Tensor, status: JobStatus) -> None:
        _lower_priority()
        with self._worker:
            status.started = time.monotonic()
            if not status.future.set_running_or_notify_cancel():
                return
            try:
                status.future.set_result(project(
                    codes, request.method, n_neighbors=request.n_neighbors,
                    min_dist=request.min_dist, perplexity=request.perplexity,
                    n_components=request.n_components))
            except Exception as error:  # shown on the page; PCA stays up meanwhile
                status.future.set_exception(error)

    def _evict(self) -> None:
        """Forget the least recently used finished projections beyond MAX_PROJECTIONS."""
        finished = [key for key, status in self._jobs.items() if status.future.done()]
        for key in finished[:max(0, len(self._jobs) - MAX_PROJECTIONS)]:
            del self._jobs[key]


def _lower_priority() -> None:
    """Make this thread yield the CPU to the server's own (Linux: per-thread nice)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


@st.cache_resource(show_spinner=False)
def projection_jobs() -> ProjectionJobs:
    return ProjectionJobs()


def warm_up() -> None:
    """Start compiling UMAP in the background, once per server process (called by app.py)."""
    if os.environ.get(WARM_UP_ENV, "1") != "0":
        # umap imports pandas; a page importing it at the same moment from the script thread
        # once met a partially initialised module, so pandas is imported here first.
        import pandas  # noqa: F401

        projection_jobs().warm_up()


@dataclass
class MapProjection:
    """What the map shows now, and what it waits for."""

    shown: Projection
    job: JobStatus | None = None  # the asked-for projection, still being computed
    error: str | None = None  # why the asked-for projection failed (PCA is shown instead)
    to_submit: bool = False  # nobody has started the asked-for projection yet


def _fast(codes: torch.Tensor, request: ProjectionRequest) -> Projection:
    """PCA, or the code itself when it is as small as the map, computed now and kept in the
    registry (2-D and 3-D apart)."""
    jobs = projection_jobs()
    fast = ProjectionRequest(request.model_key, request.source, "pca", 0, 0.0, 0.0,
                             request.n_components)
    status = jobs.get(fast)
    if status is not None and status.future.done():
        return status.future.result()
    result = project(codes, "pca", n_components=request.n_components)
    jobs.put(fast, result)
    return result


def map_projection(model: ActiveModel, request: ProjectionRequest,
                   codes: torch.Tensor) -> MapProjection:
    """The asked-for projection if it is fast (PCA, a code as small as the map), stored in the
    checkpoint or finished in the background; else PCA now and the job to wait for (or to
    start). 2-D and 3-D maps (`request.n_components`) take the same path."""
    axes = request.n_components
    projection_jobs().release_with(model)
    if not request.slow or codes.shape[1] <= axes:
        return MapProjection(_fast(codes, request))
    if request.method == "umap":  # a shipped map: the embedded digits', or a Fashion-MNIST
        # model's test set's (scripts/train_checkpoints.py)
        key = precomputed_key(request.method, request.source, request.n_neighbors,
                              request.min_dist, axes)
        stored = precomputed_projection(model.checkpoint.extras, key, len(codes), axes)
        if stored is not None:
            name = METHOD_NAMES[request.method]
            return MapProjection(Projection(stored, request.method,
                                            tuple(f"{name} {i + 1}" for i in range(axes)),
                                            "precomputed when the checkpoint was made"))
    status = projection_jobs().get(request)
    if status is not None and status.future.done():
        error = status.future.exception()
        if error is None:
            return MapProjection(status.future.result())
        return MapProjection(_fast(codes, request), error=f"{type(error).__name__}: {error}")
    return MapProjection(_fast(codes, request), job=status, to_submit=status is None)
