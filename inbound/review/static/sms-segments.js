// The reply box's segment line, updated as the caseworker types: the same rules and words as
// inbound/sms_length.py and decisions.reply_length (GSM-7 160/153, UCS-2 70/67 UTF-16 units).
const BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const EXTENSION = "\f^{}\\[~]|€";

export function segments(text) {
  const outside = [...text].find((c) => !BASIC.includes(c) && !EXTENSION.includes(c));
  const units = outside === undefined
    ? [...text].reduce((n, c) => n + (EXTENSION.includes(c) ? 2 : 1), 0)
    : text.length; // UTF-16 code units: an emoji is two
  const [single, each] = outside === undefined ? [160, 153] : [70, 67];
  const count = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / each);
  return { count, outside };
}

export function describe(text) {
  const { count, outside } = segments(text.trim());
  const texts = `${count} text${count === 1 ? "" : "s"}`;
  if (outside === undefined) {
    return `Sends as ${texts}. Basic SMS alphabet: 160 characters fit in one text, 153 in each when it is split.`;
  }
  return `Sends as ${texts}. '${outside}' is outside the basic SMS alphabet: 70 characters fit in one text, 67 in each when it is split: 402 at most, whatever the count above says.`;
}

// A canned reply picked fills the box, unless the caseworker has written their own words there.
function fillFromCanned(box) {
  const picks = document.querySelectorAll(`input[data-fills="${box.id}"]`);
  const canned = new Set([...picks].map((p) => p.dataset.text));
  for (const pick of picks) {
    pick.addEventListener("change", () => {
      if (box.value.trim() === "" || canned.has(box.value)) {
        box.value = pick.dataset.text;
        box.dispatchEvent(new Event("input", { bubbles: true }));
        box.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
      }
    });
  }
}

for (const line of document.querySelectorAll("[data-segments-for]")) {
  const box = document.getElementById(line.dataset.segmentsFor);
  if (box === null) continue;
  box.addEventListener("input", () => { line.textContent = describe(box.value); });
  fillFromCanned(box);
}
