// "I'll help", release, hand-over and redeem on a card. The hub decides who has a shopper: the page only
// asks, shows the refusal if there is one, and redraws when `card_updated` says what happened.

const me = document.body.dataset.associateId || "";

/** The help line of a card: who is helping, and what this associate can do about it. */
export function helpSection(card, h) {
  const helper = card.helped_by || null;
  const problem = h("p", { class: "help__problem", "data-testid": "action-problem", role: "status" });
  if (!helper) {
    return h(
      "div",
      { class: "help" },
      h("button", {
        type: "button",
        class: "button button--primary",
        "data-action": "claim",
        "data-testid": "claim",
        text: "I'll help",
      }),
      problem,
    );
  }
  if (helper.associate_id !== me) {
    return h(
      "div",
      { class: "help help--taken" },
      h("p", { class: "help__who", "data-testid": "helped-by", text: `Being helped by ${helper.name}` }),
      problem,
    );
  }
  return h(
    "div",
    { class: "help help--mine" },
    h("p", { class: "help__who", "data-testid": "helped-by", text: "You are helping" }),
    h("button", { type: "button", class: "button", "data-action": "release", text: "Release" }),
    h("button", { type: "button", class: "button", "data-action": "pick-colleague", text: "Hand over…" }),
    problem,
  );
}

/** The notes of a card (newest first, by colleague) and the form to add one. */
export function notesSection(card, h, timeOf) {
  const notes = Array.isArray(card.notes) ? card.notes : [];
  const id = `note-${Math.random().toString(36).slice(2)}`;
  const list = h("ul", { class: "notes__list", "data-testid": "notes" });
  for (const note of notes) {
    if (!note || typeof note.text !== "string") continue;
    list.append(
      h(
        "li",
        { class: "notes__item", "data-testid": "note" },
        h("span", { class: "notes__meta", text: `${note.author || "A colleague"} · ${timeOf(note.at)}` }),
        h("p", { class: "notes__text", text: note.text }),
      ),
    );
  }
  return h(
    "section",
    { class: "notes", "aria-label": "Notes" },
    h("h3", { class: "notes__title", text: "Notes" }),
    notes.length ? list : h("p", { class: "notes__none", text: "No notes yet." }),
    h("label", { for: id, class: "notes__label", text: "New note" }),
    h("textarea", {
      id,
      class: "notes__input",
      "data-action": "note-text",
      "data-testid": "note-text",
      maxlength: 1000,
      rows: 2,
    }),
    h("button", { type: "button", class: "button", "data-action": "add-note", text: "Add note" }),
  );
}

function say(cardEl, message) {
  const line = cardEl.querySelector('[data-testid="action-problem"]');
  if (line) line.textContent = message;
}

async function ask(socket, event, body) {
  if (!socket || !socket.connected) return { ok: false, error: { message: "Offline: try again when connected." } };
  try {
    return await socket.timeout(8000).emitWithAck(event, body);
  } catch {
    return { ok: false, error: { message: "The hub did not answer; try again." } };
  }
}

function colleaguePicker(h, colleagues) {
  const id = `handover-${Math.random().toString(36).slice(2)}`;
  const select = h("select", { id, name: "to_associate_id", class: "help__select" });
  for (const colleague of colleagues) {
    const option = h("option", { value: colleague.associate_id, text: colleague.name });
    select.append(option);
  }
  return h(
    "div",
    { class: "help__picker" },
    h("label", { for: id, text: "Hand over to" }),
    select,
    h("button", { type: "button", class: "button button--primary", "data-action": "hand-over", text: "Hand over" }),
  );
}

/** Wire the card buttons of `list` to the hub over `getSocket()`. */
export function wireClaims(list, getSocket, h) {
  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || !list.contains(button)) return;
    const cardEl = button.closest("[data-visit-id]");
    const visitId = cardEl && cardEl.dataset.visitId;
    if (!visitId) return;
    const action = button.dataset.action;
    say(cardEl, "");
    let answer;
    if (action === "redeem") {
      button.disabled = true;
      // One key per tap: a retry of the same tap cannot redeem twice.
      const key = `tablet-${crypto.randomUUID ? crypto.randomUUID() : Date.now()}`;
      answer = await ask(getSocket(), "redeem", { visit_id: visitId, code: button.dataset.code, idempotency_key: key });
      button.disabled = false;
    } else if (action === "claim" || action === "release") {
      button.disabled = true;
      answer = await ask(getSocket(), action, { visit_id: visitId });
      button.disabled = false;
    } else if (action === "pick-colleague") {
      answer = await ask(getSocket(), "colleagues", {});
      if (answer.ok) {
        if (answer.colleagues.length === 0) {
          say(cardEl, "No colleague is signed up in this store yet.");
          return;
        }
        const picker = colleaguePicker(h, answer.colleagues);
        button.replaceWith(picker);
        picker.querySelector("select").focus();
        return;
      }
    } else if (action === "add-note") {
      const input = cardEl.querySelector(".notes__input");
      button.disabled = true;
      answer = await ask(getSocket(), "add_note", { visit_id: visitId, text: input ? input.value : "" });
      button.disabled = false;
      if (answer.ok) {
        // card_updated may have redrawn the card (draft carried over) before this answer came.
        const current = list.querySelector(`[data-visit-id="${CSS.escape(visitId)}"] .notes__input`);
        if (current) current.value = "";
        if (input) input.value = "";
      }
    } else if (action === "hand-over") {
      const select = cardEl.querySelector(".help__select");
      answer = await ask(getSocket(), "hand_over", { visit_id: visitId, to_associate_id: select.value });
    }
    if (answer && !answer.ok) {
      // The card may have been redrawn meanwhile: say it on the current one.
      const current = list.querySelector(`[data-visit-id="${CSS.escape(visitId)}"]`) || cardEl;
      say(current, answer.error.message);
    }
  });
}
