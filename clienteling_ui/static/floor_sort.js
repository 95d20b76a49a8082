// The floor's sort control: "Newest first" or "By zone", a native radio group (arrow keys move
// between the two), remembered on this tablet across reloads and sign-ins.

import { SORT_NEWEST, SORT_ZONE, parseSortMode } from "./floor_order.js";
import { h } from "./format.js";

const STORAGE_KEY = "clienteling.floor.sort";
const OPTIONS = [
  [SORT_NEWEST, "Newest first"],
  [SORT_ZONE, "By zone"],
];

/** The order this tablet last used (newest first on a tablet that never chose). */
export function storedSortMode() {
  try {
    return parseSortMode(window.localStorage.getItem(STORAGE_KEY));
  } catch {
    return SORT_NEWEST; // storage blocked (private mode, policy): the default, every time
  }
}

function remember(mode) {
  try {
    window.localStorage.setItem(STORAGE_KEY, mode);
  } catch {
    // Not remembered across reloads, but the floor still follows the choice now.
  }
}

/** Fill `slot` with the control showing `mode`; `onChange(mode)` runs on every choice. */
export function mountSortControl(slot, mode, onChange) {
  const control = h(
    "fieldset",
    { class: "sort-control", "data-testid": "sort-control" },
    h("legend", { class: "sort-control__legend", text: "Order" }),
    ...OPTIONS.map(([value, label]) =>
      h(
        "label",
        { class: "sort-control__option" },
        h("input", {
          class: "sort-control__input",
          type: "radio",
          name: "floor-sort",
          value,
          checked: value === mode,
          "data-testid": `sort-${value}`,
        }),
        h("span", { class: "sort-control__label", text: label }),
      ),
    ),
  );
  control.addEventListener("change", (event) => {
    const chosen = parseSortMode(event.target.value);
    remember(chosen);
    onChange(chosen);
  });
  slot.replaceChildren(control);
}
