"""ui.models.model_cache: results of stored models are shared by sessions, results of a
session's own models stay in that session (and go with it)."""

from streamlit.testing.v1 import AppTest

from ui import state

CALLS: list[str] = []  # what the cached function was really asked, across both sessions


def _page(model_key: str) -> None:
    import streamlit as st

    from tests.test_model_cache import CALLS
    from ui.models import model_cache

    @model_cache(show_spinner="Working…")
    def doubled(key: str, value: int, _unhashed: object) -> str:
        CALLS.append(key)
        return f"{key}:{value * 2}"

    st.write(doubled(model_key, 21, object()))
    st.write(doubled(model_key, 21, object()))  # the same call again in the same run


def _run_in_two_sessions(model_key: str) -> list[AppTest]:
    sessions = []
    for _ in range(2):
        at = AppTest.from_function(_page, kwargs={"model_key": model_key})
        at.run()
        assert not at.exception, at.exception
        assert [text.value for text in at.markdown] == [f"{model_key}:42"] * 2
        sessions.append(at)
    return sessions


def test_a_stored_models_result_is_computed_once_for_every_session():
    CALLS.clear()
    _run_in_two_sessions("checkpoints/ae_2.safetensors@1.0-cache-test")
    assert CALLS == ["checkpoints/ae_2.safetensors@1.0-cache-test"]


def test_a_session_models_result_stays_in_its_session():
    CALLS.clear()
    first, second = _run_in_two_sessions("session-cache-test")
    assert CALLS == ["session-cache-test"] * 2  # once per session: nothing shared
    for at in (first, second):
        kept = at.session_state[state.SESSION_RESULTS]
        assert list(kept) == [("_page.<locals>.doubled", "'session-cache-test'", "21")]


def test_a_session_models_projections_go_when_its_model_does(tiny_checkpoints):
    """The projection registry is shared by sessions (its threads outlive a rerun); a session
    model's entries are dropped once the session, and so its checkpoint, is gone."""
    import gc

    import torch

    from ae_core.checkpoint import load_checkpoint
    from ae_core.projection import project
    from ui.models import ActiveModel
    from ui.projections import ProjectionJobs, ProjectionRequest

    jobs = ProjectionJobs()
    codes = torch.randn(50, 4)
    kept = {}
    for key in ("session-gone", "checkpoints/ae_2.safetensors@1.0"):
        model = ActiveModel("a label", key, load_checkpoint(tiny_checkpoints / "vae_2.safetensors"))
        jobs.release_with(model)
        kept[key] = model
        jobs.put(ProjectionRequest(key, "embedded", "pca", 0, 0.0, 0.0), project(codes, "pca"))
    del kept["session-gone"], model
    gc.collect()
    assert jobs.get(ProjectionRequest("session-gone", "embedded", "pca", 0, 0.0, 0.0)) is None
    assert jobs.get(ProjectionRequest("checkpoints/ae_2.safetensors@1.0", "embedded", "pca",
                                      0, 0.0, 0.0)) is not None
