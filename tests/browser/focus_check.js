// Run by page_walk.py in each page (page.evaluate), after one real Tab so that :focus-visible
// applies as it does for a keyboard user. Focuses every control in turn and reports what shows
// no outline, or one under `minimum` contrast against the background it is drawn on; and
// whether the first Tab stop is a skip link to <main id="main"> that shows when focused.
(minimum) => {
  const parse = (text) => {
    const m = /rgba?\(([^)]+)\)/.exec(text);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const behind = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c[3] > 0) return c[3] < 1 ? blend(c, [255, 255, 255, 1]) : c;
    }
    return [255, 255, 255, 1];
  };
  const blend = (c, bg) => [0, 1, 2].map((i) => c[i] * c[3] + bg[i] * (1 - c[3])).concat([1]);
  const luminance = (c) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  // What lies under the outline: found at a point just outside the control's box (a
  // positioned control, like the skip link, is drawn over something else than its parent).
  const drawnOn = (el, style) => {
    const offset = parseFloat(style.outlineOffset);
    if (offset < 0) return el;
    const box = el.getBoundingClientRect();
    const reach = offset + parseFloat(style.outlineWidth) / 2;
    const x = box.left - reach >= 0 ? box.left - reach : box.right + reach;
    const y = box.top + box.height / 2;
    const under = document.elementsFromPoint(x, y).find((n) => n !== el && !el.contains(n));
    return under || el.parentElement;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\s+/).join(".") : "") +
    (el.textContent.trim() ? ` "${el.textContent.trim().slice(0, 30)}"` : "");
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, " +
    "[tabindex]:not([tabindex='-1'])";
  const controls = [...document.querySelectorAll(selector)].filter((el) =>
    !el.disabled && el.getClientRects().length && getComputedStyle(el).visibility !== "hidden");
  const problems = [];
  const first = controls[0];
  const main = document.querySelector("main#main");
  if (!first || !first.matches("a.skip-link[href='#main']") || !main) {
    problems.push("the first Tab stop is not a skip link to <main id=main>");
  }
  for (const el of controls) {
    el.focus();
    if (document.activeElement !== el) continue;
    const style = getComputedStyle(el);
    if (el === first) {
      const box = el.getBoundingClientRect();
      if (box.width < 2 || box.height < 2 || box.right <= 0 || box.left >= innerWidth) {
        problems.push("the skip link stays out of sight when focused");
      }
    }
    if (style.outlineStyle === "auto") continue;  // the browser's own two-tone ring
    if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) {
      problems.push(`${describe(el)}: no focus outline`);
      continue;
    }
    const ground = behind(drawnOn(el, style));
    const outline = blend(parse(style.outlineColor), ground);
    const contrast = ratio(outline, ground);
    if (contrast < minimum) {
      problems.push(`${describe(el)}: focus outline ${style.outlineColor} on ` +
        `rgb(${ground.slice(0, 3).join(", ")}) is ${contrast.toFixed(2)}:1`);
    }
  }
  if (document.activeElement) document.activeElement.blur();
  return [...new Set(problems)];
}
