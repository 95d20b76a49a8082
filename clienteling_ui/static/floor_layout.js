// Puts the floor's card elements in the order floor_order.js decides: one flat list, or one
// headed group per zone. Elements are moved, never redrawn, so a note being typed survives;
// only cards out of place move, and the focused control gets its focus back after a move.

import { SORT_ZONE, groupByZone, newestFirst } from "./floor_order.js";
import { h, plural } from "./format.js";

let headingIds = 0;

function isLeaving(el) {
  return el.classList.contains("is-leaving");
}

/** Make `parent`'s children start with `els` in that order, moving only what is out of place. */
function placeChildren(parent, els) {
  let ref = parent.firstElementChild;
  for (const el of els) {
    // A leaving card keeps its place until its animation ends.
    while (ref && ref !== el && isLeaving(ref)) ref = ref.nextElementSibling;
    if (ref === el) {
      ref = el.nextElementSibling;
      continue;
    }
    parent.insertBefore(el, ref);
  }
}

/** Remove children of `parent` that are neither wanted nor leaving (a card redrawn elsewhere). */
function pruneStale(parent, wanted) {
  for (const child of [...parent.children]) {
    if (!wanted.has(child) && !isLeaving(child)) child.remove();
  }
}

function newGroup(key) {
  const id = `zone-heading-${++headingIds}`;
  const name = h("span", { class: "zone-group__name", "data-testid": "zone-name" });
  const count = h("span", { class: "zone-group__count", "data-testid": "zone-count" });
  const cards = h("ul", { class: "cards zone-group__cards", role: "list" });
  const li = h(
    "li",
    { class: "zone-group", "data-testid": "zone-group", "data-zone-key": key, "aria-labelledby": id },
    h("h2", { class: "zone-group__heading", id, "data-testid": "zone-heading" }, name, " ", count),
    cards,
  );
  return { li, name, count, cards };
}

export class FloorLayout {
  /** Lay out cards inside `list` (the floor's `ul`). */
  constructor(list) {
    this.list = list;
    /** zone key -> {li, name, count, cards} for the groups on the page. */
    this.groups = new Map();
  }

  /** Forget every element: the next arrange draws the floor from scratch (a new snapshot). */
  reset() {
    this.list.replaceChildren();
    this.groups.clear();
  }

  /** Order `entries` ([{card, el}], the shoppers present) by `mode` with the store's `zones`. */
  arrange(entries, mode, zones) {
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    const elOf = new Map(entries.map((entry) => [entry.card.visit_id, entry.el]));
    this.list.classList.toggle("cards--by-zone", mode === SORT_ZONE);
    if (mode === SORT_ZONE) this.#byZone(entries, zones, elOf);
    else this.#flat(entries, elOf);
    if (focused && focused.isConnected && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
    }
  }

  /** The zone key of the group `el` (a card element) is shown in, or null. */
  groupOf(el) {
    const group = el.closest(".zone-group");
    return group ? group.dataset.zoneKey : null;
  }

  #flat(entries, elOf) {
    const cards = entries.map((entry) => entry.card).sort(newestFirst);
    placeChildren(this.list, cards.map((card) => elOf.get(card.visit_id)));
    // Groups go, with any card still leaving inside them.
    for (const group of this.groups.values()) group.li.remove();
    this.groups.clear();
    pruneStale(this.list, new Set(elOf.values()));
  }

  #byZone(entries, zones, elOf) {
    const wanted = groupByZone(
      entries.map((entry) => entry.card),
      zones,
    );
    const groupEls = [];
    for (const { key, label, cards } of wanted) {
      let group = this.groups.get(key);
      if (!group) {
        group = newGroup(key);
        this.groups.set(key, group);
      }
      group.li.classList.remove("zone-group--leaving");
      group.li.removeAttribute("aria-hidden");
      group.name.textContent = label;
      group.count.textContent = plural(cards.length, "shopper", "shoppers");
      placeChildren(group.cards, cards.map((card) => elOf.get(card.visit_id)));
      groupEls.push(group.li);
    }
    placeChildren(this.list, groupEls);
    const kept = new Set(groupEls);
    const present = new Set(elOf.values());
    for (const [key, group] of this.groups) {
      pruneStale(group.cards, present);
      if (kept.has(group.li)) continue;
      if (group.cards.firstElementChild) {
        // Its last card is still leaving: fade the heading with it, remove it on the next pass.
        group.li.classList.add("zone-group--leaving");
        group.li.setAttribute("aria-hidden", "true");
        group.count.textContent = plural(0, "shopper", "shoppers");
      } else {
        group.li.remove();
        this.groups.delete(key);
      }
    }
    // Cards left directly in the list from the flat order are leaving ones: let them go now.
    for (const child of [...this.list.children]) {
      if (!child.classList.contains("zone-group")) child.remove();
    }
  }
}
