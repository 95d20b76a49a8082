// "Send offer…" on a shopper's card: the associate picks one of the hub's offer templates and the
// hub decides, through the same consent, quiet hours, caps and cooldown as the automatic rules.
// A send shows on the card for every tablet (card_updated); a refusal says why, in the dialog.

const DIALOG_ID = "send-offer-dialog";

/** The card's "Send offer…" button (floor cards only: a shopper in the store). */
export function sendOfferButton(card, h) {
  if (!card || !card.visit_id || card.present === false) return null;
  return h(
    "div",
    { class: "send-offer" },
    h("button", {
      type: "button",
      class: "button",
      "data-action": "send-offer",
      "data-testid": "send-offer",
      "aria-haspopup": "dialog",
      text: "Send offer…",
    }),
  );
}

function newKey() {
  return `offer-${crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`}`;
}

async function ask(socket, event, body) {
  if (!socket || !socket.connected) return { ok: false, error: { message: "Offline: try again when connected." } };
  try {
    return await socket.timeout(8000).emitWithAck(event, body);
  } catch {
    return { ok: false, error: { message: "The hub did not answer; try again." } };
  }
}

/** The dialog, built once per page: a list of templates as radio buttons, Send and Cancel. */
function buildDialog(h) {
  const title = h("h2", { id: `${DIALOG_ID}-title`, class: "offer-dialog__title", text: "Send an offer" });
  const who = h("p", { class: "offer-dialog__who", "data-testid": "send-offer-to" });
  const choices = h("div", { class: "offer-dialog__choices", "data-testid": "offer-templates" });
  const fieldset = h(
    "fieldset",
    { class: "offer-dialog__fieldset" },
    h("legend", { class: "offer-dialog__legend", text: "Offer to send" }),
    choices,
  );
  const status = h("p", { class: "offer-dialog__status", role: "status", "data-testid": "send-offer-status" });
  const problem = h("p", { class: "offer-dialog__problem", role: "alert", "data-testid": "send-offer-problem" });
  const send = h("button", {
    type: "submit",
    class: "button button--primary",
    "data-testid": "send-offer-confirm",
    text: "Send offer",
    disabled: true,
  });
  const cancel = h("button", { type: "button", class: "button", "data-testid": "send-offer-cancel", text: "Cancel" });
  const form = h(
    "form",
    { class: "offer-dialog__form", method: "dialog" },
    title,
    who,
    fieldset,
    status,
    problem,
    h("div", { class: "offer-dialog__actions" }, cancel, send),
  );
  const dialog = h(
    "dialog",
    { id: DIALOG_ID, class: "offer-dialog", "aria-labelledby": title.id, "data-testid": "send-offer-dialog" },
    form,
  );
  const announce = h("p", { class: "offer-dialog__announce", role: "status", "data-testid": "send-offer-announce" });
  document.body.append(dialog, announce);
  return { dialog, form, who, choices, status, problem, send, cancel, announce };
}

function templateChoice(h, template, name) {
  const id = `${name}-${template.id}`;
  const hint = `${id}-hint`;
  return h(
    "div",
    { class: "offer-dialog__choice" },
    h("input", { type: "radio", id, name, value: template.id, "aria-describedby": hint }),
    h(
      "label",
      { for: id, class: "offer-dialog__label" },
      h("span", { class: "offer-dialog__name", text: template.label }),
      h("span", { class: "offer-dialog__summary", id: hint, text: template.summary || "" }),
    ),
  );
}

/** Wire the "Send offer…" buttons of `list` (event delegation) to the hub over `getSocket()`. */
export function wireOfferSend(list, getSocket, h) {
  let ui = null;
  let visitId = null;
  // One key per template until the hub answers: a retried Send after no answer cannot send twice.
  let keys = new Map();
  let busy = false;

  function currentCard() {
    return visitId ? list.querySelector(`[data-visit-id="${CSS.escape(visitId)}"]`) : null;
  }

  function chosen() {
    const picked = ui.choices.querySelector("input[type=radio]:checked");
    return picked ? picked.value : null;
  }

  async function open(cardEl) {
    ui = ui || setUp();
    visitId = cardEl.dataset.visitId;
    keys = new Map();
    const name = cardEl.querySelector('[data-testid="shopper-name"]');
    ui.who.textContent = name ? `To ${name.textContent}` : "";
    ui.problem.textContent = "";
    ui.announce.textContent = "";
    ui.status.textContent = "Loading offers…";
    ui.choices.replaceChildren();
    ui.send.disabled = true;
    ui.dialog.showModal();
    const answer = await ask(getSocket(), "offer_templates", {});
    if (!ui.dialog.open) return;
    if (!answer.ok) {
      ui.status.textContent = "";
      ui.problem.textContent = answer.error.message;
      ui.cancel.focus();
      return;
    }
    if (answer.templates.length === 0) {
      ui.status.textContent = "No offers are set up for associates to send.";
      ui.cancel.focus();
      return;
    }
    ui.status.textContent = "";
    const group = `${DIALOG_ID}-template`;
    ui.choices.replaceChildren(...answer.templates.map((template) => templateChoice(h, template, group)));
    ui.choices.querySelector("input").focus();
  }

  async function submit(event) {
    event.preventDefault();
    const templateId = chosen();
    if (!templateId || busy || !visitId) return;
    if (!keys.has(templateId)) keys.set(templateId, newKey());
    busy = true;
    ui.send.disabled = true;
    ui.problem.textContent = "";
    ui.status.textContent = "Sending…";
    const answer = await ask(getSocket(), "send_offer", {
      visit_id: visitId,
      template_id: templateId,
      idempotency_key: keys.get(templateId),
    });
    busy = false;
    // Keep the key only when the hub did not answer: then a retry must be the same request.
    if (answer.ok || answer.error.code) keys.delete(templateId);
    ui.send.disabled = !chosen();
    ui.status.textContent = "";
    if (!answer.ok) {
      ui.problem.textContent = answer.error.message;
      return;
    }
    ui.dialog.close("sent");
    // The card shows the offer (card_updated may come before or after this answer); the live
    // region tells screen readers, since focus returns to the button and not to the offer.
    ui.announce.textContent = `Offer sent: ${answer.offer.title} (${answer.offer.code})`;
  }

  function setUp() {
    const built = buildDialog(h);
    built.form.addEventListener("submit", submit);
    built.cancel.addEventListener("click", () => built.dialog.close("cancel"));
    built.choices.addEventListener("change", () => {
      built.send.disabled = busy || !chosen();
      built.problem.textContent = "";
    });
    built.dialog.addEventListener("close", () => {
      // Back to the button that opened it (the card may have been redrawn meanwhile).
      currentCard()?.querySelector('[data-action="send-offer"]')?.focus();
    });
    // The idle lock covers the floor: a modal dialog would stay above it, so it goes.
    const lock = document.querySelector('[data-testid="idle-lock"]');
    if (lock) {
      new MutationObserver(() => {
        if (!lock.hidden && built.dialog.open) built.dialog.close("locked");
      }).observe(lock, { attributes: true, attributeFilter: ["hidden"] });
    }
    return built;
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="send-offer"]');
    if (!button || !list.contains(button)) return;
    const cardEl = button.closest("[data-visit-id]");
    if (cardEl) open(cardEl);
  });
}
