// Latent Lab's decoder in the browser: the active model's decoder (ONNX, exported by
// ae_core/export.py) runs in onnxruntime-web's WebAssembly build, served by the app from
// static/ort/, so the digit follows the hand at one decode per animation frame while Python
// hears the final code once, on release. Used by the components in ui/browser_decoder.py.

import { element } from "./dom.mjs";

const IMAGE_SIDE = 28;
const decoders = new Map(); // model id -> {promise, resolve, reject}: one session per model
let runtime = null; // Promise of the ort module, loaded once per page

function entry(id) {
  if (!decoders.has(id)) {
    const item = {};
    item.promise = new Promise((resolve, reject) => Object.assign(item, { resolve, reject }));
    item.promise.catch(() => {}); // reported where it is awaited
    decoders.set(id, item);
  }
  return decoders.get(id);
}

// The server gzips a plain .wasm again for every visitor (0.43 CPU-s for these 14 MB,
// benchmarks/README.md); the copy stored gzipped (scripts/browser_runtime.sh) is sent as it is,
// and unpacked here. Without it, or without DecompressionStream, ort fetches the plain file.
async function packedWasm(url) {
  if (typeof DecompressionStream !== "function") return null;
  try {
    const response = await fetch(url);
    if (!response.ok) return null;
    const unpacked = response.body.pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(unpacked).arrayBuffer());
  } catch {
    return null;
  }
}

function loadRuntime(path) {
  const base = new URL(path, window.location.href).href;
  if (runtime === null) {
    runtime = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      const ort = await import(`${base}ort.wasm.bundle.min.mjs`);
      ort.env.wasm.wasmPaths = base;
      const binary = await packedWasm(`${base}ort-wasm-simd-threaded.wasm.gz`);
      if (binary !== null) ort.env.wasm.wasmBinary = binary;
      // Threads need cross-origin isolation (COOP/COEP headers), which Streamlit does not send;
      // one thread also leaves the page responsive. A decode takes well under a millisecond.
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.proxy = false;
      return ort;
    })();
  }
  return runtime;
}

async function createDecoder(header, onnx) {
  const ort = await loadRuntime(header.runtime);
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  const size = header.latent_dim;
  return {
    id: header.id,
    latentDim: size,
    conditional: header.conditional,
    // (D,) code [, class] -> (784,) pixels in [0, 1]; the caller never overlaps two calls.
    async decode(code, label) {
      const feeds = { code: new ort.Tensor("float32", Float32Array.from(code), [1, size]) };
      if (header.conditional) {
        feeds.label = new ort.Tensor("int64", BigInt64Array.of(BigInt(label ?? 0)), [1]);
      }
      const result = await session.run(feeds);
      return result.image.data;
    },
  };
}

// The model carrier: its data is raw bytes, [4-byte little-endian header length][JSON header]
// [ONNX model]; Streamlit caches a repeated element by hash, so the bytes cross once per model.
export function provide(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length)));
  const item = entry(header.id);
  if (!item.started) {
    item.started = true;
    createDecoder(header, bytes.slice(4 + length)).then(item.resolve, item.reject);
  }
  return header.id;
}

function drawImage(canvas, pixels) {
  const context = canvas.getContext("2d");
  const small = drawImage.small ?? (drawImage.small = document.createElement("canvas"));
  small.width = small.height = IMAGE_SIDE;
  const smallContext = small.getContext("2d");
  const image = smallContext.createImageData(IMAGE_SIDE, IMAGE_SIDE);
  for (let i = 0; i < IMAGE_SIDE * IMAGE_SIDE; i++) {
    const grey = Math.round(255 * Math.min(1, Math.max(0, pixels[i])));
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = grey;
    image.data[4 * i + 3] = 255;
  }
  smallContext.putImageData(image, 0, 0);
  context.imageSmoothingEnabled = false; // crisp pixels, as the server's PNGs
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
}

// One live view: a canvas that shows decode(code) and a way to change the code. Decodes run one
// at a time; whatever the hand did last is decoded next (the newest value wins), at most once
// per animation frame. Measurements for tests and benchmarks hang on the root element:
// `frames` (decodes drawn), `latencies` (input event -> pixels, ms), `lastImage`, `lastCode`.
class LiveView {
  constructor(parent, setStateValue) {
    this.setStateValue = setStateValue;
    this.root = element("div", "ll-decoder", parent);
    this.root.frames = 0;
    this.root.latencies = [];
    this.root.dataset.engine = "loading";
    this.canvas = element("canvas", "ll-canvas", null);
    this.canvas.width = this.canvas.height = 280;
    this.canvas.setAttribute("aria-label", "The digit decoded in the browser");
    this.note = element("div", "ll-note", null);
    this.code = new Float32Array(0);
    this.changedAt = 0; // time of the newest input not yet drawn
    this.decoding = false;
    this.frameAsked = false;
    this.drawnVersion = -1;
    this.version = 0;
  }

  async attach(data) {
    this.data = data;
    const item = entry(data.model_id);
    if (this.decoderId !== data.model_id) {
      this.decoderId = data.model_id;
      this.decoder = null;
      this.root.dataset.engine = "loading";
      if (data.placeholder) {
        // The server's decode of the same code, at once: never a blank square while the
        // runtime and the model load (1.5-5 s on a first visit).
        drawImage(this.canvas, data.placeholder);
        this.root.dataset.placeholder = "server";
        this.note.textContent = "Decoded by the server; the browser decoder is loading…";
      }
      try {
        this.decoder = await item.promise;
        this.root.dataset.engine = "onnx";
        this.note.textContent = data.note ?? "";
      } catch (error) {
        this.fail(error);
        return;
      }
    }
    this.changed(0);
  }

  fail(error) {
    const message = String(error?.message ?? error).split("\n")[0].slice(0, 200);
    this.root.dataset.engine = "failed";
    this.note.textContent = `The browser decoder could not start: ${message}`;
    this.setStateValue("failure", message);
  }

  // Something moved the code: decode it on the next animation frame.
  changed(eventTime) {
    this.version += 1;
    if (eventTime && !this.pendingSince) this.pendingSince = eventTime;
    if (!this.frameAsked) {
      this.frameAsked = true;
      requestAnimationFrame(() => this.frame());
    }
  }

  async frame() {
    this.frameAsked = false;
    if (this.decoding || this.decoder === null || this.drawnVersion === this.version) return;
    this.decoding = true;
    const version = this.version;
    const since = this.pendingSince;
    this.pendingSince = 0;
    const code = Float32Array.from(this.code);
    try {
      const pixels = await this.decoder.decode(code, this.label());
      drawImage(this.canvas, pixels);
      this.drawnVersion = version;
      this.root.frames += 1;
      this.root.lastImage = Array.from(pixels);
      this.root.lastCode = Array.from(code);
      if (since) this.root.latencies.push(performance.now() - since);
    } catch (error) {
      this.decoding = false;
      this.fail(error);
      return;
    }
    this.decoding = false;
    if (this.version !== version) this.changed(0); // the hand moved meanwhile: next frame
  }

  label() {
    return this.data?.label ?? null;
  }
}

// Bottleneck sliders: one range input per dimension, most important first.
class SlidersView extends LiveView {
  constructor(parent, setStateValue) {
    super(parent, setStateValue);
    const layout = element("div", "ll-layout", this.root);
    const start = element("div", "ll-picture", layout);
    this.original = element("canvas", "ll-canvas ll-original", start);
    this.original.width = this.original.height = 280;
    this.originalCaption = element("div", "ll-caption", start, "The digit");
    const picture = element("div", "ll-picture ll-decoded", layout);  // sticks on a phone
    picture.appendChild(this.canvas);
    element("div", "ll-caption", picture, "Decoded in your browser as you drag");
    picture.appendChild(this.note);
    this.attributeBox = element("div", "ll-attributes", picture);
    this.sliders = element("div", "ll-sliders", layout);
    this.inputs = new Map();
    this.attributeInputs = new Map(); // name -> {input, value, vector, amount}
  }

  async attach(data) {
    // Rebuilt for another model or set of dimensions; the code is taken from Python only when
    // Python set it on purpose (a new revision: reset, randomise, another digit), never from
    // the echo of a release, which may be older than what the hand has done since.
    const names = (data.attributes ?? []).map(attribute => attribute.name);
    const layout = `${data.model_id}|${JSON.stringify(data.dims)}|${names}`;
    const rebuild = this.layout !== layout;
    const recode = rebuild || this.data?.revision !== data.revision;
    this.layout = layout;
    this.data = data;
    if (rebuild) this.build(data);
    if (recode) this.setCode(data.code);
    if (data.original) drawImage(this.original, data.original);
    if (data.original_caption) this.originalCaption.textContent = data.original_caption;
    await super.attach(data);
  }

  build(data) {
    this.sliders.replaceChildren();
    this.inputs.clear();
    for (const dim of data.dims) {
      const row = element("label", "ll-slider", this.sliders);
      const name = element("span", "ll-name", row, `z[${dim.index}]`);
      name.title = dim.help;
      const input = element("input", null, row);
      Object.assign(input, { type: "range", min: dim.low, max: dim.high, step: dim.step });
      input.setAttribute("aria-label", `z[${dim.index}]`);
      input.dataset.dim = dim.index;
      const value = element("span", "ll-value", row);
      input.addEventListener("input", event => {
        this.code[dim.index] = Number(input.value);
        value.textContent = Number(input.value).toFixed(2);
        this.changed(event.timeStamp || performance.now());
      });
      // Released (or stepped with a key): Python hears the whole code once.
      input.addEventListener("change", () => this.setStateValue("code", Array.from(this.code)));
      this.inputs.set(dim.index, { input, value });
    }
    this.buildAttributes(data.attributes ?? []);
  }

  // Attribute sliders: each moves the whole code along one direction (a vector of the code's
  // size, one standard deviation long), code = start + sum of amount * vector; the dimension
  // sliders follow. An amount counts from the last code Python set (0 there).
  buildAttributes(attributes) {
    this.attributeBox.replaceChildren();
    this.attributeInputs.clear();
    for (const attribute of attributes) {
      const row = element("label", "ll-slider ll-attribute", this.attributeBox);
      const name = element("span", "ll-name", row, attribute.name);
      name.title = attribute.help;
      const input = element("input", null, row);
      Object.assign(input, { type: "range", min: -attribute.sds, max: attribute.sds,
                             step: attribute.sds / 60, value: 0 });
      input.setAttribute("aria-label", attribute.name);
      input.dataset.attribute = attribute.name;
      const value = element("span", "ll-value", row, "0.00 SD");
      const item = { input, value, vector: Float32Array.from(attribute.vector), amount: 0 };
      input.addEventListener("input", event => {
        const amount = Number(input.value);
        const step = amount - item.amount;
        item.amount = amount;
        for (let i = 0; i < this.code.length; i++) this.code[i] += step * item.vector[i];
        value.textContent = `${amount >= 0 ? "+" : ""}${amount.toFixed(2)} SD`;
        this.showCode();
        this.changed(event.timeStamp || performance.now());
      });
      input.addEventListener("change", () => this.setStateValue("code", Array.from(this.code)));
      this.attributeInputs.set(attribute.name, item);
    }
  }

  showCode() {
    for (const [index, { input, value }] of this.inputs) {
      input.value = this.code[index];
      value.textContent = this.code[index].toFixed(2);
    }
  }

  setCode(code) {
    this.code = Float32Array.from(code);
    this.showCode();
    for (const item of this.attributeInputs.values()) {
      item.amount = 0;
      item.input.value = 0;
      item.value.textContent = "0.00 SD";
    }
  }
}

// A path between two codes (interpolation): a scrub slider picks a point on it.
class PathView extends LiveView {
  constructor(parent, setStateValue) {
    super(parent, setStateValue);
    const picture = element("div", "ll-picture", this.root);
    picture.appendChild(this.canvas);
    this.scrub = element("input", "ll-scrub", picture);
    Object.assign(this.scrub, { type: "range", min: 0, max: 1, step: 1, value: 0 });
    this.scrub.setAttribute("aria-label", "Position along the path");
    this.caption = element("div", "ll-caption", picture);
    picture.appendChild(this.note);
    this.scrub.addEventListener("input", event => this.pick(event.timeStamp || performance.now()));
  }

  async attach(data) {
    const fresh = this.data?.revision !== data.revision || this.data?.model_id !== data.model_id;
    this.data = data;
    if (fresh) {
      this.scrub.max = data.path.length - 1;
      this.scrub.value = Math.round((data.path.length - 1) / 2);
    }
    this.pick(0);
    await super.attach(data);
  }

  pick(eventTime) {
    const step = Number(this.scrub.value);
    const last = this.data.path.length - 1;
    this.code = Float32Array.from(this.data.path[step]);
    this.caption.textContent = `t = ${(step / last).toFixed(2)} along the path`;
    if (eventTime) this.changed(eventTime);
  }
}

// The 2-D code plane: the pointer's position is the code.
class PlaneView extends LiveView {
  constructor(parent, setStateValue) {
    super(parent, setStateValue);
    const layout = element("div", "ll-layout", this.root);
    this.plane = element("canvas", "ll-plane", layout);
    this.plane.width = this.plane.height = 280;
    this.plane.setAttribute("aria-label", "The 2-D code plane: move the pointer over it");
    const picture = element("div", "ll-picture", layout);
    picture.appendChild(this.canvas);
    this.caption = element("div", "ll-caption", picture, "Move the pointer over the plane");
    picture.appendChild(this.note);
    this.plane.addEventListener("pointermove", event => this.point(event));
    this.plane.addEventListener("pointerdown", event => this.point(event));
  }

  async attach(data) {
    this.data = data;
    if (this.code.length !== 2) this.code = Float32Array.from(data.code);
    this.drawPlane();
    await super.attach(data);
  }

  drawPlane() {
    const context = this.plane.getContext("2d");
    const { low, high, points } = this.data;
    context.fillStyle = "#fafafa";
    context.fillRect(0, 0, this.plane.width, this.plane.height);
    context.fillStyle = "rgba(60, 90, 200, 0.35)";
    for (const [x, y] of points) {
      const px = ((x - low[0]) / (high[0] - low[0])) * this.plane.width;
      const py = (1 - (y - low[1]) / (high[1] - low[1])) * this.plane.height;
      context.fillRect(px - 1, py - 1, 2, 2);
    }
    if (this.data.ellipse) this.drawEllipse(context, this.data.ellipse);
    const cx = ((this.code[0] - low[0]) / (high[0] - low[0])) * this.plane.width;
    const cy = (1 - (this.code[1] - low[1]) / (high[1] - low[1])) * this.plane.height;
    context.strokeStyle = "#d33";
    context.beginPath();
    context.moveTo(cx - 6, cy); context.lineTo(cx + 6, cy);
    context.moveTo(cx, cy - 6); context.lineTo(cx, cy + 6);
    context.stroke();
  }

  // A VAE's posterior for the digit: mean ± 1 and ± 2 standard deviations, in orange.
  drawEllipse(context, { mean, sd }) {
    const { low, high } = this.data;
    const sx = this.plane.width / (high[0] - low[0]);
    const sy = this.plane.height / (high[1] - low[1]);
    const cx = (mean[0] - low[0]) * sx;
    const cy = (1 - (mean[1] - low[1]) / (high[1] - low[1])) * this.plane.height;
    context.strokeStyle = "rgba(255, 140, 0, 0.95)";
    context.lineWidth = 2;
    for (const [times, dash] of [[1, []], [2, [3, 3]]]) {
      context.setLineDash(dash);
      context.beginPath();
      context.ellipse(cx, cy, Math.max(1, times * sd[0] * sx), Math.max(1, times * sd[1] * sy),
                      0, 0, 2 * Math.PI);
      context.stroke();
    }
    context.setLineDash([]);
    context.lineWidth = 1;
  }

  point(event) {
    const box = this.plane.getBoundingClientRect();
    const fx = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    const fy = Math.min(1, Math.max(0, (event.clientY - box.top) / box.height));
    const { low, high } = this.data;
    this.code = Float32Array.of(low[0] + fx * (high[0] - low[0]), high[1] - fy * (high[1] - low[1]));
    this.caption.textContent = `z = (${this.code[0].toFixed(2)}, ${this.code[1].toFixed(2)})`;
    this.drawPlane();
    this.changed(event.timeStamp || performance.now());
  }
}

// The latent map of a 2-D code: the pointer over the map (points or empty space) is the code.
// Plotly redraws its chart on reruns, so the chart is looked up on every move.
class MapView extends LiveView {
  constructor(parent, setStateValue) {
    super(parent, setStateValue);
    const picture = element("div", "ll-picture", this.root);
    picture.appendChild(this.canvas);
    this.caption = element("div", "ll-caption", picture, "Point at the map: the code under the pointer is decoded here");
    picture.appendChild(this.note);
    this.listener = event => this.point(event);
    document.addEventListener("pointermove", this.listener);
  }

  async attach(data) {
    this.data = data;
    if (this.code.length !== 2) this.code = Float32Array.from(data.code);
    await super.attach(data);
  }

  point(event) {
    if (!this.root.isConnected) {
      document.removeEventListener("pointermove", this.listener);
      return;
    }
    const chart = document.querySelector(this.data?.chart);
    const layout = chart?._fullLayout;
    if (!layout?.xaxis?.p2l) return;
    const box = chart.getBoundingClientRect();
    const x = event.clientX - box.left - layout.xaxis._offset;
    const y = event.clientY - box.top - layout.yaxis._offset;
    if (x < 0 || y < 0 || x > layout.xaxis._length || y > layout.yaxis._length) return;
    this.code = Float32Array.of(layout.xaxis.p2l(x), layout.yaxis.p2l(y));
    this.caption.textContent = `z = (${this.code[0].toFixed(2)}, ${this.code[1].toFixed(2)})`;
    this.changed(event.timeStamp || performance.now());
  }
}

const VIEWS = { sliders: SlidersView, path: PathView, plane: PlaneView, map: MapView };
const mounted = new WeakMap(); // parent element -> its view, kept across reruns

export async function mount(component) {
  const { data, parentElement, setStateValue } = component;
  let view = mounted.get(parentElement);
  if (!view || view.kind !== data.mode) {
    view?.root.remove(); // only our own nodes: Streamlit keeps the component's <style> here
    view = new VIEWS[data.mode](parentElement, setStateValue);
    view.kind = data.mode;
    mounted.set(parentElement, view);
  }
  view.setStateValue = setStateValue;
  await view.attach(data);
}
