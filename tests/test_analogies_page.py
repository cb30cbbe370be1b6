"""The Interpolation page's analogies (ui/analogy_panel.py) under AppTest on the shipped ae_32:
a - b + c decoded, and White's analogy grid of every style in every class."""

from __future__ import annotations

import pytest

from tests.pages import SHIPPED, open_page

pytestmark = pytest.mark.skipif(not (SHIPPED / "ae_32.safetensors").is_file(),
                                reason="ae_32 is not shipped")


def image_by_caption(at, start: str):
    return next(image for image in at.get("image") if image.captions[0].startswith(start))


def test_a_minus_b_plus_c_and_the_grid(monkeypatch):
    at = open_page("app_pages/interpolate.py", SHIPPED, monkeypatch, "ae_32")
    assert not at.exception
    result = image_by_caption(at, "a, b, c, and the decoded a − b + c").value[0]
    grid = image_by_caption(at, "First column: the digit whose style")
    caption = grid.captions[0]
    assert caption.count("#") == 5  # the From and To digits and three more, one per class
    at.selectbox(key="interpolate_analogy_c_class").set_value(5).run()
    assert not at.exception
    assert image_by_caption(at, "a, b, c, and the decoded a − b + c").value[0] != result
    assert image_by_caption(at, "First column: the digit whose style").value[0] == \
        grid.value[0]  # the grid does not depend on c
