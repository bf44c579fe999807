// The header's menu works without this file (its button and groups are <details>); it adds
// what people expect of a menu: Escape closes the innermost open menu and puts the focus
// back on its button, opening one group closes the others, and a click or a focus elsewhere
// on the page closes the open ones.
(function () {
  "use strict";
  var header = document.querySelector(".site-header");
  if (!header) { return; }
  var openMenus = function () { return header.querySelectorAll("details[open]"); };

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = openMenus();
    if (!open.length) { return; }
    var innermost = open[open.length - 1];
    innermost.open = false;
    innermost.querySelector("summary").focus();
  });

  // On the click that opens a group (Enter and Space click a summary too), before it opens:
  // one group open at a time, decided at once rather than on the later toggle event.
  header.addEventListener("click", function (event) {
    var summary = event.target.closest(".nav-group summary");
    if (!summary) { return; }
    header.querySelectorAll(".nav-group details[open]").forEach(function (other) {
      if (other !== summary.parentElement) { other.open = false; }
    });
  });

  var closeOutside = function (event) {
    if (header.contains(event.target)) { return; }
    openMenus().forEach(function (menu) { menu.open = false; });
  };
  document.addEventListener("click", closeOutside);
  document.addEventListener("focusin", closeOutside);
})();
