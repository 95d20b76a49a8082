// A card's wishlist and abandoned cart: items with thumbnails and what this store has of each
// (size, count, location), filled in by the hub from the store's stock.

import { h, money, plural, safeImageUrl } from "./format.js";

const MAX_LISTED_ITEMS = 3;

function thumbnail(item) {
  const src = safeImageUrl(item.image_url);
  const swatch = () => {
    const tile = h("span", { class: "thumb thumb--swatch", "aria-hidden": "true" });
    const colour = typeof item.colour === "string" ? item.colour.toLowerCase() : "";
    if (colour && CSS.supports("color", colour)) {
      tile.classList.add("thumb--colour");
      tile.style.setProperty("--swatch", colour);
    } else {
      tile.textContent = (item.name || "?").charAt(0).toUpperCase();
    }
    return tile;
  };
  if (!src) return swatch();
  const img = h("img", {
    class: "thumb",
    src,
    alt: "",
    width: 56,
    height: 56,
    loading: "lazy",
    decoding: "async",
    referrerpolicy: "no-referrer",
  });
  img.addEventListener("error", () => img.replaceWith(swatch()), { once: true });
  return img;
}

function variantText(item) {
  return [item.size && `Size ${item.size}`, item.colour].filter(Boolean).join(" · ");
}

function stockLine(stock) {
  // Cards from before stock was known carry no stock_here: say nothing rather than "none".
  if (!stock || typeof stock !== "object") return null;
  const sizes = stock.sizes && typeof stock.sizes === "object" ? Object.entries(stock.sizes) : [];
  const counts = sizes.map(([, count]) => Number(count) || 0);
  const available = Number(stock.available) || 0;
  const anyHere = available > 0 || counts.some((count) => count > 0);
  let text = "Not in stock here";
  if (anyHere) {
    const parts = sizes.map(([size, count]) => `${size} ×${Number(count) || 0}`);
    text = `In stock here: ${parts.length ? parts.join(" · ") : `×${available}`}`;
    if (typeof stock.location === "string" && stock.location) text += ` — ${stock.location}`;
  }
  const state = available > 0 ? "yes" : anyHere ? "other" : "none";
  return h("span", { class: `stock stock--${state}`, "data-testid": "stock-here", text });
}

function itemList(items, lineOf) {
  const list = h("ul", { class: "items", role: "list" });
  for (const item of items.slice(0, MAX_LISTED_ITEMS)) {
    const [detail, price] = lineOf(item);
    list.append(
      h(
        "li",
        { class: "item" },
        thumbnail(item),
        h(
          "span",
          { class: "item__text" },
          h("span", { class: "item__name", text: item.name || item.sku || "Item" }),
          detail ? h("span", { class: "item__detail", text: detail }) : null,
          stockLine(item.stock_here),
        ),
        price ? h("span", { class: "item__price", text: price }) : null,
      ),
    );
  }
  if (items.length > MAX_LISTED_ITEMS) {
    list.append(
      h("li", { class: "item item--more", text: `+${items.length - MAX_LISTED_ITEMS} more` }),
    );
  }
  return list;
}

export function wishlistSection(wishlist) {
  if (!Array.isArray(wishlist) || wishlist.length === 0) return null;
  return h(
    "section",
    { class: "block", "data-testid": "wishlist", "aria-label": "Wishlist" },
    h("h3", { class: "block__title", text: `Wishlist · ${wishlist.length}` }),
    itemList(wishlist, (item) => [variantText(item), money(item.price, item.currency)]),
  );
}

export function cartSection(cart) {
  const items = cart && Array.isArray(cart.items) ? cart.items : [];
  if (items.length === 0) return null;
  const units = items.reduce((sum, item) => sum + (Number(item.quantity) || 1), 0);
  const total = money(cart.total, cart.currency);
  return h(
    "section",
    { class: "block block--cart", "data-testid": "cart", "aria-label": "Abandoned online cart" },
    h("h3", {
      class: "block__title",
      text: `Left in online cart · ${plural(units, "item", "items")}`,
    }),
    itemList(items, (item) => {
      const quantity = Number(item.quantity) || 1;
      const detail = [variantText(item), quantity > 1 ? `× ${quantity}` : ""]
        .filter(Boolean)
        .join(" ");
      return [detail, money(Number(item.unit_price) * quantity, item.currency)];
    }),
    total
      ? h(
          "p",
          { class: "cart__total" },
          h("span", { text: "Cart total" }),
          h("strong", { "data-testid": "cart-total", text: total }),
        )
      : null,
  );
}
