// Latent Lab's drawing canvas: strokes follow the pointer (mouse, pen or touch) in the browser;
// on release Python hears the whole drawing once, as a PNG data URL of the canvas (light
// strokes on a transparent ground, so the opacity is the ink). Used by ui/draw_canvas.py.

import { element } from "./dom.mjs";

const SIDE = 280; // canvas pixels; MNIST's 28 times ten

// One canvas. Measurements for tests hang on the root element: `strokes` (pointer strokes
// drawn since the last clear) and `sent` (drawings sent to Python).
class DrawCanvas {
  constructor(parent, setStateValue) {
    this.setStateValue = setStateValue;
    this.root = element("div", "ll-draw", parent);
    this.root.strokes = 0;
    this.root.sent = 0;
    this.canvas = element("canvas", "ll-draw-canvas", this.root);
    this.canvas.width = this.canvas.height = SIDE;
    this.canvas.setAttribute("aria-label", "Drawing canvas: draw one digit with the mouse or a finger");
    const bar = element("div", "ll-draw-bar", this.root);
    this.clearButton = element("button", "ll-draw-clear", bar, "Clear");
    this.clearButton.type = "button";
    this.hint = element("span", "ll-draw-hint", bar, "Draw one digit, large, in the middle");
    this.context = this.canvas.getContext("2d");
    this.last = null; // the previous point of the stroke under way
    this.canvas.addEventListener("pointerdown", event => this.down(event));
    this.canvas.addEventListener("pointermove", event => this.move(event));
    for (const name of ["pointerup", "pointercancel"]) {
      this.canvas.addEventListener(name, event => this.up(event));
    }
    this.clearButton.addEventListener("click", () => this.clear());
  }

  configure(data) {
    this.brush = data.brush;
    if (data.hint) this.hint.textContent = data.hint;
    this.root.style.setProperty("--ll-draw-side", `${data.side ?? SIDE}px`);
  }

  point(event) {
    const box = this.canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * (SIDE / box.width),
      (event.clientY - box.top) * (SIDE / box.height)];
  }

  down(event) {
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    this.last = this.point(event);
    const [x, y] = this.last;
    const context = this.context;
    context.fillStyle = "#fff";
    context.beginPath();
    context.arc(x, y, this.brush / 2, 0, 2 * Math.PI); // a tap leaves a dot
    context.fill();
  }

  move(event) {
    if (this.last === null) return;
    event.preventDefault();
    // Every coalesced point: a fast hand still draws a smooth line.
    const events = event.getCoalescedEvents?.() ?? [event];
    const context = this.context;
    Object.assign(context, { strokeStyle: "#fff", lineWidth: this.brush, lineCap: "round",
      lineJoin: "round" });
    context.beginPath();
    context.moveTo(...this.last);
    for (const each of events.length ? events : [event]) {
      this.last = this.point(each);
      context.lineTo(...this.last);
    }
    context.stroke();
  }

  up(event) {
    if (this.last === null) return;
    this.last = null;
    this.root.strokes += 1;
    this.send(this.canvas.toDataURL("image/png"));
  }

  clear() {
    this.context.clearRect(0, 0, SIDE, SIDE);
    this.root.strokes = 0;
    this.send("");
  }

  send(png) {
    this.root.sent += 1;
    this.setStateValue("drawing", { png, strokes: this.root.strokes, sent: this.root.sent });
  }
}

const mounted = new WeakMap(); // parent element -> its canvas, kept across reruns

export function mount(component) {
  const { data, parentElement, setStateValue } = component;
  let canvas = mounted.get(parentElement);
  if (!canvas) {
    canvas = new DrawCanvas(parentElement, setStateValue);
    mounted.set(parentElement, canvas);
  }
  canvas.setStateValue = setStateValue;
  canvas.configure(data);
}
