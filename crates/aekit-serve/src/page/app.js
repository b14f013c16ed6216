// aekit serve's page: everything goes through the same JSON API a client uses.
"use strict";
const $ = (id) => document.getElementById(id);
let models = [];
let current = null;

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  const t = $("token").value || localStorage.getItem("aekit-token") || "";
  if (t) h["Authorization"] = "Bearer " + t;
  return h;
}

async function api(path, body, raw) {
  const opts = body === undefined ? { headers: headers(false) }
    : raw ? { method: "POST", headers: Object.assign(headers(false), { "Content-Type": raw }), body }
    : { method: "POST", headers: headers(true), body: JSON.stringify(body) };
  const r = await fetch(path, opts);
  if (!r.ok) {
    let msg = r.status + "";
    try { const e = await r.json(); msg += ": " + e.error.message; } catch (_) {}
    throw new Error(msg);
  }
  return raw ? r.blob() : r.json();
}

function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; }

// Draws planar [C, H, W] values in [0, 1] into a canvas, scaled to its size.
function drawImage(canvas, values, shape, dx = 0, size = null) {
  const [c, h, w] = shape;
  const off = document.createElement("canvas");
  off.width = w; off.height = h;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < 3; k++) {
      const v = values[(c === 3 ? k : 0) * h * w + i];
      img.data[4 * i + k] = Math.max(0, Math.min(255, Math.round(v * 255)));
    }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  const g = canvas.getContext("2d");
  g.imageSmoothingEnabled = false;
  const s = size || canvas.height;
  g.drawImage(off, dx, 0, s * w / h, s);
}

// ---------- VAE explorer ----------
const explorer = { codes: [], labels: null, z: [], picked: null, busy: false, pending: false, range: [-3, 3, -3, 3] };
const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function toPx(z0, z1) {
  const [x0, x1, y0, y1] = explorer.range, c = $("map");
  return [(z0 - x0) / (x1 - x0) * c.width, c.height - (z1 - y0) / (y1 - y0) * c.height];
}
function toZ(px, py) {
  const [x0, x1, y0, y1] = explorer.range, c = $("map");
  return [x0 + px / c.width * (x1 - x0), y0 + (c.height - py) / c.height * (y1 - y0)];
}

function drawMap() {
  const c = $("map"), g = c.getContext("2d");
  g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height);
  explorer.codes.forEach((z, i) => {
    const [x, y] = toPx(z[0], z[1]);
    g.fillStyle = explorer.labels ? palette[explorer.labels[i] % 10] : "#888";
    g.fillRect(x - 1.5, y - 1.5, 3, 3);
  });
  const [mx, my] = toPx(explorer.z[0], explorer.z[1]);
  g.strokeStyle = "#000"; g.lineWidth = 2;
  g.beginPath(); g.arc(mx, my, 7, 0, 2 * Math.PI); g.stroke();
}

async function decodeCurrent() {
  if (explorer.busy) { explorer.pending = true; return; }
  explorer.busy = true;
  try {
    const r = await api(`/v1/models/${current.name}/decode`, { inputs: [explorer.z] });
    drawImage($("decoded"), r.outputs[0], current.input_shape);
    const d = $("decoded");
    d.dataset.version = String(Number(d.dataset.version) + 1);
    $("code").textContent = "z = [" + explorer.z.map((v) => v.toFixed(2)).join(", ") + "]";
    showError(null);
  } catch (e) { showError(e); }
  explorer.busy = false;
  if (explorer.pending) { explorer.pending = false; decodeCurrent(); }
}

function setCode(z) {
  explorer.z = z.slice();
  document.querySelectorAll("#sliders input").forEach((s) => { s.value = explorer.z[Number(s.dataset.dim)]; });
  drawMap();
  decodeCurrent();
}

async function interpolate(a, b) {
  const steps = 8, inputs = [];
  for (let k = 0; k < steps; k++) inputs.push(a.map((v, j) => v + (b[j] - v) * k / (steps - 1)));
  const r = await api(`/v1/models/${current.name}/decode`, { inputs });
  const s = $("strip"); s.hidden = false;
  s.getContext("2d").clearRect(0, 0, s.width, s.height);
  r.outputs.forEach((o, k) => drawImage(s, o, current.input_shape, k * s.height, s.height));
}

async function showExplorer(m) {
  const L = m.latent_dim;
  explorer.z = new Array(L).fill(0);
  explorer.codes = []; explorer.labels = null; explorer.picked = null;
  if (m.routes.includes("latent_map")) {
    const r = await api(`/v1/models/${m.name}/latent_map`);
    explorer.codes = r.codes; explorer.labels = r.labels;
    let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    r.codes.forEach((z) => { for (let k = 0; k < 2; k++) { lo[k] = Math.min(lo[k], z[k]); hi[k] = Math.max(hi[k], z[k]); } });
    const pad = (a, b) => [a - 0.05 * (b - a + 1e-6), b + 0.05 * (b - a + 1e-6)];
    explorer.range = [...pad(lo[0], hi[0]), ...pad(lo[1], hi[1])];
    $("map-what").textContent = `${r.codes.length} test samples at their ${r.what} (axes: z1, z2; colours: labels). Drag the marker to decode; click a sample to jump to its code; shift-click a second to interpolate.`;
  } else {
    explorer.range = [-3, 3, -3, 3];
  }
  const box = $("sliders"); box.innerHTML = "";
  for (let j = 2; j < L; j++) {
    const lab = document.createElement("label");
    lab.textContent = `z${j + 1} `;
    const s = document.createElement("input");
    Object.assign(s, { type: "range", min: -3, max: 3, step: 0.05, value: 0 });
    s.dataset.dim = j;
    s.addEventListener("input", () => { explorer.z[j] = Number(s.value); decodeCurrent(); });
    lab.appendChild(s); box.appendChild(lab);
  }
  $("explorer").hidden = false;
  drawMap();
  decodeCurrent();
}

function nearestSample(px, py) {
  let best = -1, bd = 64;
  explorer.codes.forEach((z, i) => {
    const [x, y] = toPx(z[0], z[1]);
    const d = (x - px) ** 2 + (y - py) ** 2;
    if (d < bd) { bd = d; best = i; }
  });
  return best;
}

function mapEvents() {
  const c = $("map");
  let dragging = false;
  const pos = (e) => { const r = c.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  c.addEventListener("pointerdown", (e) => {
    const [px, py] = pos(e);
    const i = nearestSample(px, py);
    if (e.shiftKey && explorer.picked !== null && i >= 0) {
      interpolate(explorer.codes[explorer.picked], explorer.codes[i]).catch(showError);
      return;
    }
    // On a sample: jump to its whole code (and keep dragging from there); elsewhere: move z1, z2.
    dragging = true;
    c.setPointerCapture && c.setPointerCapture(e.pointerId);
    if (i >= 0) { explorer.picked = i; setCode(explorer.codes[i]); return; }
    const [z0, z1] = toZ(px, py);
    explorer.z[0] = z0; explorer.z[1] = z1; drawMap(); decodeCurrent();
  });
  c.addEventListener("pointermove", (e) => {
    if (!dragging) return;
    const [z0, z1] = toZ(...pos(e));
    explorer.z[0] = z0; explorer.z[1] = z1; drawMap(); decodeCurrent();
  });
  const stop = () => { dragging = false; };
  c.addEventListener("pointerup", stop);
  c.addEventListener("pointercancel", stop);
  $("draw-samples").addEventListener("click", async () => {
    try {
      const r = await api(`/v1/models/${current.name}/sample`, { n: 8, seed: Math.floor(Math.random() * 1e9), temperature: 1.0 });
      const s = $("samples"); s.hidden = false;
      r.outputs.forEach((o, k) => drawImage(s, o, current.input_shape, k * s.height, s.height));
    } catch (e) { showError(e); }
  });
}

// ---------- anomaly ----------
async function imageValues(file, shape) {
  const [c, h, w] = shape;
  const bmp = await createImageBitmap(file);
  const off = document.createElement("canvas");
  off.width = w; off.height = h;
  const g = off.getContext("2d");
  g.drawImage(bmp, 0, 0, w, h);
  const px = g.getImageData(0, 0, w, h).data;
  const out = new Array(c * h * w);
  for (let i = 0; i < h * w; i++) {
    if (c === 1) out[i] = (0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2]) / 255;
    else for (let k = 0; k < 3; k++) out[k * h * w + i] = px[4 * i + k] / 255;
  }
  return out;
}

function showScore(r) {
  const p = r.p_values[0];
  let html = `<table><tr><th>score</th><td>${r.scores[0].toPrecision(4)}</td></tr>` +
    `<tr><th>p-value</th><td>${p === null ? "-" : p.toPrecision(3)}</td></tr>` +
    `<tr><th>flagged</th><td>${r.flags[0] ? "yes: anomalous" : "no"}</td></tr>`;
  if (r.top_columns) html += `<tr><th>top columns</th><td>${r.top_columns[0].map((c) => `${c.column} (${c.squared_error.toFixed(2)})`).join(", ")}</td></tr>`;
  $("a-result").innerHTML = html + `</table><p class="muted">${current.score || ""}; flagged when score > ${current.threshold.toPrecision(4)}</p>`;
}

async function scoreImage(file) {
  try {
    const shape = current.input_shape;
    const x = await imageValues(file, shape);
    const [s, rec] = await Promise.all([
      api(`/v1/models/${current.name}/score`, { inputs: [x] }),
      api(`/v1/models/${current.name}/reconstruct`, { inputs: [x] }),
    ]);
    const y = rec.outputs[0], [c, h, w] = shape;
    const heat = new Array(h * w).fill(0);
    for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) heat[i] += (x[k * h * w + i] - y[k * h * w + i]) ** 2 / c;
    const m = Math.max(1e-9, ...heat);
    drawImage($("a-input"), x, shape);
    drawImage($("a-recon"), y, shape);
    drawImage($("a-heat"), heat.map((v) => v / m), [1, h, w]);
    showScore(s);
    showError(null);
  } catch (e) { showError(e); }
}

function dropZone(el, input, handle) {
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("over"); });
  el.addEventListener("dragleave", () => el.classList.remove("over"));
  el.addEventListener("drop", (e) => { e.preventDefault(); el.classList.remove("over"); if (e.dataTransfer.files[0]) handle(e.dataTransfer.files[0]); });
  input.addEventListener("change", () => { if (input.files[0]) handle(input.files[0]); });
}

// ---------- restoration ----------
async function restorePhoto(file) {
  try {
    const route = current.routes.includes("upscale") ? "upscale" : "denoise";
    $("r-before").src = URL.createObjectURL(file);
    const blob = await api(`/v1/models/${current.name}/${route}`, file, file.type || "application/octet-stream");
    $("r-after").src = URL.createObjectURL(blob);
    showError(null);
  } catch (e) { showError(e); }
}

// ---------- model choice ----------
async function choose(name) {
  current = models.find((m) => m.name === name);
  ["explorer", "anomaly", "restore"].forEach((id) => { $(id).hidden = true; });
  const m = current;
  $("info").textContent = `${m.kind} (${m.model}), input ${m.input_shape.join("x")}` + (m.latent_dim ? `, latent ${m.latent_dim}` : "") + `; routes: ${m.routes.join(", ")}`;
  try {
    if (m.routes.includes("decode") && (m.kind === "vae" || m.routes.includes("latent_map"))) await showExplorer(m);
    if (m.routes.includes("score")) {
      $("anomaly").hidden = false;
      const table = !!m.columns;
      $("table-input").hidden = !table;
      $("drop").hidden = table;
      if (table) $("columns").textContent = m.columns.join(", ");
    }
    if (m.routes.includes("denoise") || m.routes.includes("upscale")) {
      $("restore").hidden = false;
      $("restore-title").textContent = m.routes.includes("upscale") ? `Upscale a photo (x${m.upscale})` : "Denoise a photo";
    }
    showError(null);
  } catch (e) { showError(e); }
}

async function start() {
  $("token").value = localStorage.getItem("aekit-token") || "";
  $("token").addEventListener("change", () => { localStorage.setItem("aekit-token", $("token").value); load(); });
  mapEvents();
  dropZone($("drop"), $("file"), scoreImage);
  dropZone($("r-drop"), $("r-file"), restorePhoto);
  $("score-row").addEventListener("click", async () => {
    try {
      const row = $("csv-row").value.split(",").map((v) => Number(v.trim()));
      showScore(await api(`/v1/models/${current.name}/score`, { inputs: [row] }));
      showError(null);
    } catch (e) { showError(e); }
  });
  $("model").addEventListener("change", () => choose($("model").value));
  await load();
}

async function load() {
  try {
    models = await api("/v1/models");
    $("model").replaceChildren(...models.map((m) => { const o = document.createElement("option"); o.textContent = m.name; return o; }));
    if (models.length) await choose(models[0].name);
  } catch (e) { showError(e); }
}

start();
