"""The latent map with a mouse: hover a point to see which digit it is, click it to see the
digit, send it to the sliders. Chromium on `streamlit run` (fixtures in conftest.py).

`LATENT_LAB_MEASURE=1` also runs the timing of a fresh server (first map, then UMAP).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    PROJECT_ROOT,
    live_view,
    open_with_model,
    wait_for_app,
    wait_for_picker,
)

pytestmark = pytest.mark.browser

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
X_TITLE = f"() => document.querySelector(\"{CHART}\")?._fullLayout?.xaxis?.title?.text || ''"
# The point furthest up and right on the map: on the hull, so no other point hides it.
# Returns its page coordinates and what its customdata says it is.
OUTERMOST_POINT = f"""() => {{
    const chart = document.querySelector("{CHART}");
    const layout = chart._fullLayout, box = chart.getBoundingClientRect();
    const xs = layout.xaxis, ys = layout.yaxis;
    let best = null;
    chart._fullData.forEach(trace => {{
        if (trace.name === "selected") return;
        for (let i = 0; i < trace.x.length; i++) {{
            const x = xs.l2p(trace.x[i]) + xs._offset, y = ys.l2p(trace.y[i]) + ys._offset;
            const score = x - y;
            if (best === null || score > best.score)
                best = {{score, x: box.left + x, y: box.top + y,
                         index: Number(trace.customdata[i][0]), label: trace.customdata[i][1]}};
        }}
    }});
    return best;
}}"""


def open_latent_map(tab, app_url: str) -> None:
    """From the front door, then the sidebar link, as a visitor gets there."""
    tab.goto(app_url)
    wait_for_app(tab, 60_000)
    tab.locator("[data-testid='stSidebarNav']").get_by_text("Latent map", exact=True).click()
    tab.get_by_role("heading", name="Latent map").wait_for(timeout=60_000)
    tab.wait_for_selector(f"{CHART} canvas", timeout=60_000)


def draw_pca(tab) -> None:
    """PCA through the form: drawn at once, never swapped for UMAP under the mouse."""
    tab.locator("[data-testid='stRadio'] label").filter(has_text=re.compile(r"^PCA$")).click()
    tab.get_by_role("button", name="Draw map").click()
    # A model with a 2-D code shows the code itself (z[0]) whatever the projection.
    tab.wait_for_function(f"() => /^(PC1|z\\[0\\])/.test(({X_TITLE})())", timeout=60_000)
    wait_for_app(tab, 60_000)


def test_hovering_names_a_digit_and_clicking_shows_it(page, app_url):
    open_latent_map(page, app_url)
    draw_pca(page)
    point = page.evaluate(OUTERMOST_POINT)
    page.mouse.move(point["x"], point["y"])
    hover = page.locator(".hoverlayer .hovertext")
    hover.first.wait_for(timeout=10_000)
    assert f"image #{point['index']}" in hover.first.text_content()
    assert point["label"] in hover.first.text_content()

    page.mouse.click(point["x"], point["y"])
    selected = page.locator("[data-testid='stImage']").filter(
        has_text=f"Top: the selected images (#{point['index']} {point['label']})")
    selected.wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    picture = selected.locator("img")
    page.wait_for_function("image => image.complete && image.naturalWidth > 28",
                           arg=picture.element_handle(), timeout=30_000)
    assert page.request.get(picture.get_attribute("src")).body()[:4] == b"\x89PNG"
    # The map was not redrawn for the click (a redraw would lose the user's zoom): Plotly
    # itself highlights the one picked point.
    highlighted = page.evaluate(f"""() => document.querySelector("{CHART}")._fullData
        .map(trace => [trace.name, trace.selectedpoints || []])""")
    assert [name for name, points in highlighted if len(points)] == [point["label"]]
    assert "selected" not in [name for name, _ in highlighted]
    neighbours = page.locator("[data-testid='stImage']").filter(
        has_text=f"#{point['index']} and its 8 nearest neighbours")
    assert neighbours.count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "latent_map_clicked_point.png"))
    neighbours.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "latent_map_clicked_digit.png"))

    page.get_by_role("button", name=f"Open #{point['index']} in the sliders").click()
    page.get_by_role("heading", name="Bottleneck sliders").wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    assert page.get_by_label("Index in the dataset").input_value() == str(point["index"])


def test_box_selecting_shows_several_digits(page, app_url):
    open_latent_map(page, app_url)
    draw_pca(page)
    page.locator(f"{CHART} .modebar-btn[data-title='Box Select']").click()
    box = page.locator(f"{CHART} .nsewdrag").first.bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x - 60, centre_y - 60)
    page.mouse.down()
    page.mouse.move(centre_x, centre_y, steps=5)
    page.mouse.move(centre_x + 60, centre_y + 60, steps=5)
    page.mouse.up()
    note = page.get_by_text(re.compile(r"^\d+ images selected; the first 24 are shown"))
    note.wait_for(timeout=60_000)
    wait_for_app(page, 60_000)
    assert int(note.inner_text().split()[0]) > 24
    page.get_by_text("Neighbours of").wait_for(timeout=60_000)  # drawn after the note
    assert page.get_by_text("Neighbours of").count() == 1
    grid = page.locator("[data-testid='stImage']").filter(has_text="Top: the selected images")
    grid.wait_for(timeout=60_000)
    assert grid.inner_text().count("#") == 8  # the first 8 are named, then "…"


def test_colouring_by_error_uses_a_continuous_scale(page, app_url):
    open_latent_map(page, app_url)
    wait_for_app(page, 60_000)
    page.locator("[data-testid='stButtonGroup'] button").filter(
        has_text="Reconstruction error").click()
    # Null-safe: the chart is replaced while the page reruns, and a predicate that throws
    # fails the wait at once instead of trying again.
    page.wait_for_function(
        f"() => document.querySelector(\"{CHART}\")?._fullData?.length === 1 && "
        f"document.querySelector(\"{CHART}\")._fullData[0].marker?.colorscale !== undefined",
        timeout=60_000)
    assert page.locator(f"{CHART} .colorbar").count() == 1

    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Codes and map (CSV)").click()
    table = open(csv_download.value.path()).read().splitlines()
    assert table[0].startswith("index,label,error,x,y,z0,") and len(table) == 5001
    wait_for_app(page, 60_000)
    with page.expect_download() as png_download:
        page.get_by_role("button", name="Map picture (PNG)").click()
    assert open(png_download.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_a_2d_code_decodes_the_empty_space_under_the_pointer(page, app_url):
    open_with_model(page, app_url, "shipped: ae_2", "Latent map", "Latent map")
    view = live_view(page, "latent_map_live")
    plot = page.locator(f"{CHART} .nsewdrag").first
    box = plot.bounding_box()
    start = view.evaluate("root => root.frames")
    for step in range(20):  # along the top edge, where few digits lie
        page.mouse.move(box["x"] + 5 + step * (box["width"] - 10) / 19, box["y"] + 5)
        page.wait_for_timeout(20)
    page.wait_for_timeout(300)
    assert view.evaluate("root => root.frames") - start >= 5
    x, y = view.evaluate("root => root.lastCode")
    layout = page.evaluate(f"""() => {{
        const full = document.querySelector("{CHART}")._fullLayout;
        return [full.xaxis.range[1], full.yaxis.range[1]];
    }}""")
    assert x == pytest.approx(layout[0], rel=0.05) and y == pytest.approx(layout[1], rel=0.05)


SCENE_READY = f"""() => {{
    const chart = document.querySelector("{CHART}");
    const canvas = chart?.querySelector(".gl-container canvas");
    return Boolean(chart?._fullLayout?.scene && canvas && canvas.width > 0
                   && (canvas.getContext("webgl2") || canvas.getContext("webgl"))
                   && chart._fullData.every(trace => trace.type === "scatter3d")
                   && chart._fullData.reduce((sum, trace) => sum + trace.x.length, 0) === 5000);
}}"""
POINTS_ON_SCREEN = f"""() => {{
    const chart = document.querySelector("{CHART}");
    const scene = chart._fullLayout.scene._scene, camera = scene.glplot.cameraParams;
    const box = scene.glplot.canvas.getBoundingClientRect(), scale = scene.dataScale;
    const trace = chart._fullData[0], points = [];
    for (let i = 0; i < Math.min(trace.x.length, 25); i++) {{
        let v = [trace.x[i] * scale[0], trace.y[i] * scale[1], trace.z[i] * scale[2], 1];
        for (const m of [camera.model, camera.view, camera.projection]) {{
            const r = [0, 0, 0, 0];
            for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) r[a] += m[4 * b + a] * v[b];
            v = r;
        }}
        points.push([box.left + box.width * (1 + v[0] / v[3]) / 2,
                     box.top + box.height * (1 - v[1] / v[3]) / 2]);
    }}
    return points;
}}"""
HOVER_TEXT = ("() => [...document.querySelectorAll('.hovertext')]"
              ".map(label => label.textContent).join(' ')")


def test_the_3d_view_is_a_webgl_scene_that_names_a_hovered_point(page, app_url):
    open_latent_map(page, app_url)
    # ae_32, the default: its 3-D UMAP is stored in the checkpoint (a 2-D model offers none).
    wait_for_picker(page, "shipped: ae_32")
    page.wait_for_selector(f"{CHART} canvas", timeout=60_000)
    page.locator(".st-key-latent_map_view button").filter(has_text="3-D").click()
    page.wait_for_function(SCENE_READY, timeout=60_000)
    wait_for_app(page, 60_000)
    assert page.evaluate(f"""() => document.querySelector("{CHART}")
        ._fullLayout.scene.zaxis.title.text""") == "UMAP 3"
    # Where the scene draws some points, by the camera plotly itself projects hovers with
    # (gl-plot3d's model, view and projection matrices, column-major, on scaled data).
    page.set_viewport_size({"width": 1400, "height": 1500})  # the whole scene on screen
    wait_for_app(page)
    page.wait_for_function(SCENE_READY)
    candidates = page.evaluate(POINTS_ON_SCREEN)
    label = ""
    for x, y in candidates[:8]:
        page.mouse.move(x, y, steps=3)
        try:  # WebGL picking in a software-rendered browser takes its time
            page.wait_for_function(f"() => ({HOVER_TEXT})().includes('image #')", timeout=5000)
        except Exception:  # noqa: BLE001 - another point drawn in front: try the next one
            continue
        label = page.evaluate(HOVER_TEXT)
        break
    assert re.search(r"image #\d+, class \d", label), (label, candidates[:5])
    page.screenshot(path=str(PROJECT_ROOT / "docs" / "latent_map_3d.png"))


POINT_COUNT = f"""() => (document.querySelector("{CHART}")?._fullData || [])
    .filter(trace => trace.name !== "selected")
    .reduce((total, trace) => total + (trace.x?.length || 0), 0)"""


@pytest.mark.slow
def test_a_map_of_70000_images_hovers_and_clicks_with_every_point_drawn(page, app_url):
    from ui.sources import source_available

    if not source_available("fashion-all"):
        pytest.skip("Fashion-MNIST (both splits) is not on this machine")
    open_latent_map(page, app_url)
    page.locator(".st-key-latent_map_source [data-testid='stSelectbox']").click()
    page.get_by_role("option", name="Fashion-MNIST, all 70,000 (train + test)").click()
    draw_pca(page)
    page.wait_for_function(f"() => ({POINT_COUNT})() === 5000", timeout=120_000)
    assert page.locator(CHART).locator("canvas").count() > 0  # WebGL
    page.locator(".st-key-latent_map_points [data-testid='stSelectbox']").click()
    page.get_by_role("option", name="all", exact=True).click()
    page.wait_for_function(f"() => ({POINT_COUNT})() === 70000", timeout=120_000)
    wait_for_app(page, 60_000)
    point = page.evaluate(OUTERMOST_POINT)
    page.mouse.move(point["x"], point["y"])
    hover = page.locator(".hoverlayer .hovertext")
    hover.first.wait_for(timeout=20_000)
    assert f"image #{point['index']}" in hover.first.text_content()
    page.mouse.click(point["x"], point["y"])
    page.locator("[data-testid='stImage']").filter(
        has_text=f"Top: the selected images (#{point['index']} {point['label']})"
    ).wait_for(timeout=60_000)
