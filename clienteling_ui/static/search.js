// Find a customer the floor did not detect (phone in a bag, walked up to the till) and open
// their card. Fills the tools row's search slot; the hub returns only opted-in customers
// (search_customers) and records every card opened for the audit log (open_customer).
// Shopper data reaches the page through h()/textContent only.

import { renderCard } from "./card.js";
import { h } from "./format.js";

const MIN_LENGTH = 2;
const DEBOUNCE_MS = 300;
const ACK_TIMEOUT_MS = 8000;

async function ask(getSocket, event, body) {
  const s = getSocket();
  if (!s || !s.connected) return { ok: false, error: { message: "Offline: try again when connected." } };
  try {
    return await s.timeout(ACK_TIMEOUT_MS).emitWithAck(event, body);
  } catch {
    return { ok: false, error: { message: "The hub did not answer; try again." } };
  }
}

/** Fill `slot` with the search field; actions go over the floor's socket, `getSocket()`. */
export function mountCustomerSearch(slot, getSocket) {
  if (!slot || slot.dataset.mounted) return;
  slot.dataset.mounted = "true";

  // ---------------------------------------------------------------------------------------------
  // The form and the results

  const input = h("input", {
    id: "customer-search",
    class: "search__input",
    type: "search",
    name: "query",
    "data-testid": "customer-search",
    autocomplete: "off",
    autocapitalize: "off",
    spellcheck: "false",
    enterkeyhint: "search",
    maxlength: 100,
    placeholder: "Name, email or phone",
    "aria-describedby": "customer-search-status",
    "aria-controls": "customer-search-results",
  });
  const status = h("p", {
    id: "customer-search-status",
    class: "search__status",
    "data-testid": "search-status",
    role: "status",
    text: "",
  });
  const results = h("ul", {
    id: "customer-search-results",
    class: "search__results",
    "data-testid": "search-results",
    "aria-label": "Customers found",
    hidden: true,
  });
  const form = h(
    "form",
    { class: "search", role: "search", "aria-label": "Customers not detected", novalidate: true },
    h("label", { for: "customer-search", class: "search__label", text: "Find a customer" }),
    input,
    status,
    results,
  );

  let timer = 0;
  let asked = 0; // answers to earlier queries arrive late and must not replace newer ones

  function clearResults(message) {
    results.replaceChildren();
    results.hidden = true;
    status.textContent = message;
  }

  function contactText(contact) {
    if (!contact || typeof contact !== "object") return "";
    return [contact.email, contact.phone].filter((part) => typeof part === "string").join(" · ");
  }

  function resultItem(result) {
    const present = result.present === true;
    const name = typeof result.name === "string" && result.name ? result.name : "Name not on file";
    const tier = typeof result.tier === "string" && result.tier ? result.tier : "";
    const button = h(
      "button",
      {
        type: "button",
        class: "search__result",
        "data-testid": "search-result",
        "data-customer-id": result.customer_id,
        "data-present": present ? "true" : "false",
      },
      h("span", { class: "search__name", "data-testid": "result-name", text: name }),
      h("span", { class: "search__contact", "data-testid": "result-contact", text: contactText(result.contact) }),
      tier ? h("span", { class: "search__tier", "data-testid": "result-tier", text: tier }) : null,
      h("span", {
        class: `search__presence search__presence--${present ? "here" : "away"}`,
        "data-testid": "result-presence",
        text: present ? "In store now" : "Not detected",
      }),
    );
    button.addEventListener("click", () => openCustomer(result, button));
    return h("li", {}, button);
  }

  async function search(query) {
    const mine = ++asked;
    status.textContent = "Searching…";
    const answer = await ask(getSocket, "search_customers", { query });
    if (mine !== asked) return;
    if (!answer.ok) {
      clearResults(answer.error?.message || "The search failed; try again.");
      return;
    }
    const found = Array.isArray(answer.results) ? answer.results : [];
    if (found.length === 0) {
      clearResults("No opted-in customer matches.");
      return;
    }
    results.replaceChildren(...found.map(resultItem));
    results.hidden = false;
    const count = found.length === 1 ? "1 customer" : `${found.length} customers`;
    status.textContent = answer.more ? `${count} shown; type more to narrow it down.` : `${count} found.`;
  }

  function scheduleSearch({ now = false } = {}) {
    clearTimeout(timer);
    const query = input.value.trim();
    if (query.length < MIN_LENGTH) {
      asked++;
      clearResults(query ? `Type at least ${MIN_LENGTH} characters.` : "");
      return;
    }
    if (now) search(query);
    else timer = setTimeout(() => search(query), DEBOUNCE_MS);
  }

  input.addEventListener("input", () => scheduleSearch());
  // The results cover the floor: out of the way when the associate taps elsewhere, back on
  // returning to the field.
  input.addEventListener("focus", () => {
    if (results.childElementCount > 0) results.hidden = false;
  });
  document.addEventListener("pointerdown", (event) => {
    if (!form.contains(event.target) && !dialog.contains(event.target)) results.hidden = true;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    scheduleSearch({ now: true });
  });
  // Arrow keys walk the results like a list, for keyboards attached to the tablet.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !results.hidden) {
      results.hidden = true;
      input.focus();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = [...results.querySelectorAll(".search__result")];
    if (buttons.length === 0) return;
    const at = buttons.indexOf(document.activeElement);
    const next = event.key === "ArrowDown" ? Math.min(at + 1, buttons.length - 1) : at - 1;
    event.preventDefault();
    (next < 0 ? input : buttons[next]).focus();
  });

  // ---------------------------------------------------------------------------------------------
  // The customer's card, in a dialog

  const dialogTitle = h("h2", { id: "customer-dialog-title", class: "lookup__title", text: "Customer" });
  const dialogProblem = h("p", { class: "lookup__problem", "data-testid": "lookup-problem", role: "alert" });
  const jump = h("button", {
    type: "button",
    class: "button button--primary",
    "data-testid": "go-to-floor-card",
    text: "Go to their card on the floor",
    hidden: true,
  });
  const cardHolder = h("ul", { class: "cards lookup__card", role: "list" });
  const closeButton = h("button", { type: "button", class: "button", "data-testid": "close-lookup", text: "Close" });
  const dialog = h(
    "dialog",
    { class: "lookup", "data-testid": "customer-dialog", "aria-labelledby": "customer-dialog-title" },
    h("div", { class: "lookup__head" }, dialogTitle, closeButton),
    dialogProblem,
    jump,
    cardHolder,
  );
  let returnFocus = null;
  let jumpTo = null;

  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    cardHolder.replaceChildren();
    if (returnFocus && returnFocus.isConnected) returnFocus.focus();
  });
  jump.addEventListener("click", () => {
    const visitId = jumpTo;
    returnFocus = null; // focus goes to the floor card, not back to the result
    results.hidden = true; // and the results must not cover it
    dialog.close();
    const card = visitId && document.querySelector(`[data-testid="shopper-list"] [data-visit-id="${CSS.escape(visitId)}"]`);
    if (!card) return;
    card.setAttribute("tabindex", "-1");
    card.scrollIntoView({ block: "center", behavior: "smooth" });
    card.focus({ preventScroll: true });
    card.classList.add("is-found");
    setTimeout(() => card.classList.remove("is-found"), 2000);
  });

  /** The card without its floor actions: those live on the floor card, wired by claims.js. */
  function readOnly(el) {
    for (const action of el.querySelectorAll("[data-action], .notes__label")) action.remove();
    return el;
  }

  async function openCustomer(result, button) {
    returnFocus = button;
    jumpTo = null;
    dialogTitle.textContent = typeof result.name === "string" && result.name ? result.name : "Customer";
    dialogProblem.textContent = "";
    jump.hidden = true;
    cardHolder.replaceChildren(h("li", { class: "lookup__loading", text: "Opening the card…" }));
    if (!dialog.open) dialog.showModal();
    const answer = await ask(getSocket, "open_customer", { customer_id: result.customer_id });
    if (!dialog.open) return;
    if (!answer.ok) {
      cardHolder.replaceChildren();
      dialogProblem.textContent = answer.error?.message || "The card could not be opened.";
      return;
    }
    const card = answer.card || {};
    if (answer.present && card.visit_id) {
      jumpTo = card.visit_id;
      jump.hidden = false;
      dialogProblem.textContent = "";
    }
    cardHolder.replaceChildren(answer.present ? readOnly(renderCard(card)) : renderCard(card));
    (answer.present ? jump : closeButton).focus();
  }

  slot.append(form);
  document.body.append(dialog);

  // The idle lock is an overlay, and a modal dialog sits above every overlay: close the card (and
  // forget the results) when the tablet locks, so nobody walking by reads them.
  const lock = document.querySelector('[data-testid="idle-lock"]');
  if (lock) {
    new MutationObserver(() => {
      if (lock.hidden) return;
      if (dialog.open) dialog.close();
      input.value = "";
      asked++;
      clearResults("");
    }).observe(lock, { attributes: true, attributeFilter: ["hidden"] });
  }
}

