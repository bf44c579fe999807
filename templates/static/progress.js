// Cohort marking: filter the clinician checklist as you type and tick all shown ones.
// Progressive enhancement only: without JavaScript the search box submits to the server.
(function () {
  "use strict";
  document.querySelectorAll("[data-filter-list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("data-filter-list"));
    if (!list) { return; }
    input.addEventListener("input", function () {
      var term = input.value.trim().toLowerCase();
      list.querySelectorAll("li[data-search]").forEach(function (item) {
        item.hidden = term !== "" && item.getAttribute("data-search").indexOf(term) === -1;
      });
    });
  });
  document.querySelectorAll("[data-check-all]").forEach(function (button) {
    var list = document.getElementById(button.getAttribute("data-check-all"));
    if (!list) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      list.querySelectorAll("li[data-search]").forEach(function (item) {
        if (!item.hidden) { item.querySelector("input[type=checkbox]").checked = true; }
      });
    });
  });
})();
