"""A link that reopens the view: set the sliders, copy the page's link, open it in a fresh
browser (its own cookies and session), and see the same digit, code and picture; Back still
leaves the page. A drawing's link carries the drawing's code, which the reopened page starts
from."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from tests.browser.conftest import (
    PROJECT_ROOT,
    drag_across,
    go_to,
    live_view,
    wait_for_app,
    wait_for_picker,
)
from tests.browser.test_draw_page import guess_after, open_draw_page, stroke

pytestmark = pytest.mark.browser

LINK = ".st-key-sliders_link .ll-link"
SCREENSHOT = PROJECT_ROOT / "docs" / "link_reopens_view.png"
PARAM_IS = "([name, value]) => new URLSearchParams(location.search).get(name) === value"
HAS_PARAM = "name => new URLSearchParams(location.search).has(name)"
DRAWN = "() => document.querySelector('.st-key-sliders_live .ll-decoder')?.frames > 0"


@contextmanager
def reopened(browser, link: str):
    """`link` in a fresh browser context (its own cookies, so its own session), drawn."""
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = fresh.new_page()
        tab.goto(link)
        wait_for_app(tab, 60_000)
        yield tab
    finally:
        fresh.close()


def slider_values(view) -> list[str]:
    return view.locator("input[type='range']").evaluate_all(
        "inputs => inputs.map(input => input.value)")


def test_a_copied_link_reopens_the_sliders_in_a_fresh_browser(page, browser, app_url):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(app_url)
    # Back is part of what is tested: the sidebar's history element must be in place before the
    # page's parameters change (its script loads after the first run on a slow machine, and a
    # change before it lands as an entry of its own).
    page.wait_for_function("() => window.latentLabQueryHistory === true", timeout=60_000)
    go_to(page, "Bottleneck sliders", "Bottleneck sliders")
    wait_for_picker(page, "shipped: ae_32")  # the default, whenever its picker mounts
    page.locator(".st-key-sliders_digit_mode").get_by_text("By index").click()
    wait_for_app(page, 60_000)
    index = page.locator(".st-key-sliders_digit_index input")
    index.fill("42")
    index.press("Enter")
    page.wait_for_function(PARAM_IS, arg=["digit", "42"], timeout=60_000)
    wait_for_app(page, 60_000)
    view = live_view(page, "sliders_live")
    first = view.locator("input[type='range'][data-dim]").first  # a z slider, not thickness
    drag_across(page, first)
    page.mouse.up()
    page.get_by_text(re.compile(r"^1 of 32 dimensions moved")).wait_for(timeout=60_000)
    page.wait_for_function(HAS_PARAM, arg="code", timeout=30_000)
    wait_for_app(page, 60_000)
    code, image = view.evaluate("root => [root.lastCode, root.lastImage]")
    values = slider_values(view)

    page.locator(LINK).get_by_role("button", name="Copy link").click()
    page.wait_for_function(f"() => document.querySelector({LINK!r})?.dataset.copied")
    link = page.locator(LINK).get_attribute("data-copied")
    assert link == page.url and link.startswith(app_url) and "/sliders?" in link
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    assert page.locator(f"{LINK} .ll-link-url").input_value() == link
    params = dict(pair.split("=", 1) for pair in link.split("?", 1)[1].split("&"))
    assert params["model"] == "ae_32" and params["digit"] == "42" and len(params["code"]) == 86
    # The digit and the slider changed the address without new history entries: Back leaves
    # the page, to the one before it.
    page.go_back()
    page.get_by_role("heading", name="Latent Lab").wait_for(timeout=60_000)

    with reopened(browser, link) as tab:
        again = live_view(tab, "sliders_live")
        tab.get_by_text(re.compile(r"^1 of 32 dimensions moved")).wait_for(timeout=60_000)
        tab.wait_for_function(DRAWN, timeout=30_000)
        assert tab.locator(".st-key-sliders_digit_index input").input_value() == "42"
        assert slider_values(again) == values  # every slider where the hand left it
        code_again, image_again = again.evaluate("root => [root.lastCode, root.lastImage]")
        assert code_again == pytest.approx(code, rel=1e-3, abs=1e-3)  # float16 in the link
        assert max(abs(a - b) for a, b in zip(image, image_again, strict=True)) < 0.02
        assert tab.url == link  # the fresh page keeps the link it was opened with
        wait_for_app(tab, 60_000)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        tab.screenshot(path=str(SCREENSHOT))


def test_a_link_made_from_a_drawing_reopens_its_code_and_counts_from_it(page, browser, app_url):
    open_draw_page(page, app_url)
    stroke(page, [(0.5, 0.15 + 0.7 * step / 20) for step in range(21)])  # a vertical "1"
    assert guess_after(page, 1) == "1"
    page.get_by_role("button", name="Send to sliders").click()
    page.get_by_role("heading", name="Bottleneck sliders").wait_for(timeout=60_000)
    page.get_by_text("The digit you sent from the Draw page").wait_for(timeout=60_000)
    page.wait_for_function(HAS_PARAM, arg="from", timeout=60_000)
    wait_for_app(page, 60_000)
    view = live_view(page, "sliders_live")
    drag_across(page, view.locator("input[type='range'][data-dim]").first)  # z's, not thickness
    page.mouse.up()
    page.get_by_text(re.compile(r"^1 of 32 dimensions moved")).wait_for(timeout=60_000)
    page.wait_for_function(HAS_PARAM, arg="code", timeout=30_000)
    wait_for_app(page, 60_000)
    code, image = view.evaluate("root => [root.lastCode, root.lastImage]")
    page.locator(LINK).get_by_role("button", name="Copy link").click()
    page.wait_for_function(f"() => document.querySelector({LINK!r})?.dataset.copied")
    link = page.locator(LINK).get_attribute("data-copied")
    params = dict(pair.split("=", 1) for pair in link.split("?", 1)[1].split("&"))
    assert "digit" not in params and len(params["from"]) == 86 and len(params["code"]) == 86

    with reopened(browser, link) as tab:
        again = live_view(tab, "sliders_live")
        # Counted from the drawing's code the link carries, not from a digit 0 of the dataset.
        tab.get_by_text(re.compile(r"^1 of 32 dimensions moved from the link's starting code")
                        ).wait_for(timeout=60_000)
        tab.wait_for_function(DRAWN, timeout=30_000)
        tab.get_by_text("The link's starting code, decoded").wait_for(timeout=30_000)
        tab.get_by_text("the drawing itself is not in the link").wait_for(timeout=30_000)
        again.get_by_text("The link's start, decoded").wait_for(timeout=30_000)  # not "The digit"
        code_again, image_again = again.evaluate("root => [root.lastCode, root.lastImage]")
        assert code_again == pytest.approx(code, rel=1e-3, abs=1e-3)  # float16 in the link
        assert max(abs(a - b) for a, b in zip(image, image_again, strict=True)) < 0.02
        assert tab.url == link
