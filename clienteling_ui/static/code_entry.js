// "Redeem a code": a code typed in, or read with the tablet's rear camera from the QR code on the
// shopper's phone, redeemed through the hub's `redeem` tablet action (the same single conditional
// update as the tills). The camera is optional: without one, or when refused, typing still works.

import { money } from "./format.js";

const JSQR_URL = new URL("./vendor/jsQR.js", import.meta.url);
// Crockford base32, as the hub's codes (store_hub.domain.codes).
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LENGTH = 10;
// The signed QR token (store_hub.domain.offer_qr): version, key id, expiry, then the code.
const QR_VERSION = 1;
const QR_CODE_OFFSET = 1 + 4 + 4;
const QR_MIN_BYTES = QR_CODE_OFFSET + CODE_LENGTH + 16 + 64;

/** The canonical code (XXXXX-XXXXX) of what a person typed, or null when it cannot be one. */
export function normaliseCode(typed) {
  if (typeof typed !== "string") return null;
  // Separators people type or scanners add, and the look-alikes the hub also accepts.
  const cleaned = typed
    .trim()
    .toUpperCase()
    .replace(/[\s\-_.·–—]/g, "")
    .replace(/O/g, "0")
    .replace(/[IL]/g, "1");
  if (cleaned.length !== CODE_LENGTH || [...cleaned].some((ch) => !ALPHABET.includes(ch))) return null;
  return `${cleaned.slice(0, 5)}-${cleaned.slice(5)}`;
}

function base64urlBytes(text) {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  const padded = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  try {
    return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** The code in what a QR code says: the wallet's signed token, or a plain code. */
export function codeFromScan(text) {
  if (typeof text !== "string") return null;
  const trimmed = text.trim();
  const plain = normaliseCode(trimmed);
  if (plain) return plain;
  const bytes = base64urlBytes(trimmed);
  if (!bytes || bytes.length < QR_MIN_BYTES || bytes[0] !== QR_VERSION) return null;
  // The tablet only reads the code out; the hub decides whether it may be used.
  const code = String.fromCharCode(...bytes.slice(QR_CODE_OFFSET, QR_CODE_OFFSET + CODE_LENGTH));
  return normaliseCode(code);
}

const REFUSALS = {
  offer_not_found: "No offer has this code. Check it and try again.",
  already_redeemed: "This code has already been redeemed.",
  offer_expired: "This offer has expired.",
  offer_voided: "This offer was cancelled and cannot be used.",
  wrong_store: "This offer is for another store.",
};

/** The offer's title and what it takes off: exact for an item, "up to" for a basket or category. */
function offerLine(offer, redemption) {
  const terms = offer || {};
  const exact = terms.discount || null;
  const most = terms.max_discount || (redemption && redemption.amount) || null;
  let off = "";
  if (exact) off = `${money(exact.amount, exact.currency)} off`;
  else if (most) off = `up to ${money(most.amount, most.currency)} off`;
  if (terms.min_spend) off += ` a spend of ${money(terms.min_spend.amount, terms.min_spend.currency)}`;
  return [terms.title, off].filter(Boolean).join(" · ");
}

function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  return new Promise((resolve, reject) => {
    // A UMD script, not a module: it sets window.jsQR.
    const script = document.createElement("script");
    script.src = JSQR_URL.href;
    script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR missing")));
    script.onerror = () => reject(new Error("jsQR not loaded"));
    document.head.append(script);
  });
}

function cameraProblem(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Camera access was refused: type the code instead (allow the camera in the browser's settings to scan).";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return "No camera is available: type the code instead.";
  }
  return "The camera could not start: type the code instead.";
}

async function ask(socket, event, body) {
  if (!socket || !socket.connected) return { ok: false, error: { message: "Offline: try again when connected." } };
  try {
    return await socket.timeout(8000).emitWithAck(event, body);
  } catch {
    return { ok: false, error: { message: "The hub did not answer; try again." } };
  }
}

function buildDialog(h) {
  const title = h("h2", { id: "code-entry-title", class: "code-entry__title", text: "Redeem a code" });
  const input = h("input", {
    id: "code-entry-input",
    class: "code-entry__input",
    name: "code",
    type: "text",
    inputmode: "text",
    autocapitalize: "characters",
    autocomplete: "off",
    autocorrect: "off",
    spellcheck: "false",
    enterkeyhint: "go",
    maxlength: 400, // a pasted QR token is accepted too
    "aria-describedby": "code-entry-hint",
    "data-testid": "code-input",
  });
  const video = h("video", { class: "code-entry__video", muted: true, playsinline: true, "aria-hidden": "true" });
  const viewer = h("div", { class: "code-entry__viewer", "data-testid": "code-camera", hidden: true }, video);
  const scan = h("button", { type: "button", class: "button", "data-testid": "scan-code", text: "Scan" });
  const redeem = h("button", { type: "submit", class: "button button--primary", "data-testid": "redeem-code", text: "Redeem" });
  const close = h("button", { type: "button", class: "button", "data-testid": "code-close", text: "Close" });
  const status = h("p", { class: "code-entry__status", role: "status", "data-testid": "code-status" });
  const result = h("div", { class: "code-entry__result", role: "alert", "data-testid": "code-result" });
  const form = h(
    "form",
    { class: "code-entry__form", novalidate: true },
    title,
    h("label", { for: input.id, class: "code-entry__label", text: "Offer code" }),
    h("p", { id: "code-entry-hint", class: "code-entry__hint", text: "10 letters and digits, e.g. 7K2QX-M9D4T, or scan the shopper's QR code." }),
    h("div", { class: "code-entry__row" }, input, scan),
    viewer,
    status,
    result,
    h("div", { class: "code-entry__actions" }, close, redeem),
  );
  const dialog = h(
    "dialog",
    { class: "code-entry", "aria-labelledby": title.id, "data-testid": "code-dialog" },
    form,
  );
  document.body.append(dialog);
  return { dialog, form, input, video, viewer, scan, redeem, close, status, result };
}

/** Fill the tools slot with "Redeem a code" and its dialog, redeeming over `getSocket()`. */
export function mountCodeEntry(slot, getSocket, h) {
  if (!slot) return;
  const opener = h("button", {
    type: "button",
    class: "button code-entry__open",
    "data-testid": "redeem-code-open",
    "aria-haspopup": "dialog",
    text: "Redeem a code",
  });
  slot.append(opener);
  let ui = null;
  let stream = null;
  let frame = 0;
  let busy = false;
  // One key per code until the hub answers: a retried Redeem after no answer is the same request.
  let keys = new Map();

  function stopCamera() {
    cancelAnimationFrame(frame);
    frame = 0;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    if (ui) {
      ui.video.srcObject = null;
      ui.viewer.hidden = true;
      ui.scan.textContent = "Scan";
    }
  }

  function showResult(kind, lines) {
    ui.result.className = `code-entry__result code-entry__result--${kind}`;
    ui.result.dataset.outcome = kind;
    ui.result.replaceChildren(...lines.map((text) => h("p", { text })));
  }

  async function redeem(code) {
    if (busy) return;
    ui.input.value = code;
    if (!keys.has(code)) keys.set(code, `tablet-code-${crypto.randomUUID ? crypto.randomUUID() : Date.now()}`);
    busy = true;
    ui.redeem.disabled = true;
    ui.status.textContent = `Redeeming ${code}…`;
    const answer = await ask(getSocket(), "redeem", { code, idempotency_key: keys.get(code) });
    busy = false;
    ui.redeem.disabled = false;
    ui.status.textContent = "";
    // Keep the key only when the hub did not answer: then a retry must be the same request.
    if (answer.ok || answer.error.code) keys.delete(code);
    if (!answer.ok) {
      const reason = REFUSALS[answer.error.code] || answer.error.message;
      showResult("refused", [`${code} not redeemed`, reason]);
      return;
    }
    showResult("redeemed", [`Redeemed ${code}`, offerLine(answer.offer, answer.redemption)].filter(Boolean));
  }

  function submit(event) {
    event.preventDefault();
    const code = codeFromScan(ui.input.value);
    if (!code) {
      showResult("refused", ["An offer code is 10 letters and digits, e.g. 7K2QX-M9D4T."]);
      ui.input.focus();
      return;
    }
    stopCamera();
    redeem(code);
  }

  function scanLoop(jsQR, canvas) {
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const tick = () => {
      if (!stream) return;
      const { videoWidth: width, videoHeight: height } = ui.video;
      if (width && height) {
        canvas.width = width;
        canvas.height = height;
        context.drawImage(ui.video, 0, 0, width, height);
        const found = jsQR(context.getImageData(0, 0, width, height).data, width, height, {
          inversionAttempts: "dontInvert",
        });
        const code = found ? codeFromScan(found.data) : null;
        if (code) {
          stopCamera();
          redeem(code);
          return;
        }
        if (found) ui.status.textContent = "That QR code is not an offer: try the shopper's offer code.";
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  async function startCamera() {
    if (stream) {
      stopCamera();
      ui.status.textContent = "";
      return;
    }
    ui.result.replaceChildren();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      ui.status.textContent = "This device has no camera the page can use: type the code instead.";
      return;
    }
    ui.status.textContent = "Starting the camera…";
    let jsQR;
    try {
      [jsQR, stream] = await Promise.all([
        loadJsQR(),
        navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false }),
      ]);
    } catch (error) {
      stopCamera();
      ui.status.textContent = error && error.name ? cameraProblem(error) : "The scanner could not load: type the code instead.";
      ui.input.focus();
      return;
    }
    if (!ui.dialog.open) {
      stopCamera();
      return;
    }
    ui.video.srcObject = stream;
    ui.viewer.hidden = false;
    ui.scan.textContent = "Stop scanning";
    ui.status.textContent = "Point the camera at the QR code on the shopper's phone.";
    try {
      await ui.video.play();
    } catch {
      // Autoplay of a muted inline video is allowed; frames are read either way.
    }
    scanLoop(jsQR, document.createElement("canvas"));
  }

  function setUp() {
    const built = buildDialog(h);
    built.form.addEventListener("submit", submit);
    built.scan.addEventListener("click", startCamera);
    built.close.addEventListener("click", () => built.dialog.close());
    built.dialog.addEventListener("close", () => {
      stopCamera();
      opener.focus();
    });
    built.input.addEventListener("input", () => built.result.replaceChildren());
    // Show what will be sent: the canonical form, once the field holds a whole code.
    built.input.addEventListener("blur", () => {
      const code = normaliseCode(built.input.value);
      if (code) built.input.value = code;
    });
    const lock = document.querySelector('[data-testid="idle-lock"]');
    if (lock) {
      new MutationObserver(() => {
        if (!lock.hidden && built.dialog.open) built.dialog.close();
      }).observe(lock, { attributes: true, attributeFilter: ["hidden"] });
    }
    return built;
  }

  opener.addEventListener("click", () => {
    ui = ui || setUp();
    keys = new Map();
    ui.input.value = "";
    ui.status.textContent = "";
    ui.result.replaceChildren();
    ui.dialog.showModal();
    ui.input.focus();
  });
}
