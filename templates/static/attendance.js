// The attendance grid saves each cell as the facilitator leaves it, without a page reload.
// Progressive enhancement only: without JavaScript the grid is one form with a Save button,
// and this script posts exactly the same fields, one cell at a time, asking for JSON.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) { return; }
  var status = document.getElementById(form.getAttribute("data-status"));
  var busy = {};
  var again = {};

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function field(prefix, key) {
    return form.elements[prefix + key];
  }

  // Show what the server stored; a field typed into since it was sent keeps what is typed
  // (its own change event saves it next, from the value stored now).
  function show(cell, sent) {
    var td = form.querySelector('[data-cell="' + cell.key + '"]');
    var was = field("was-", cell.key);
    if (was) { was.value = cell.token; }
    var select = field("present-", cell.key);
    if (select && (!sent || select.value === sent["present-"])) { select.value = cell.choice; }
    var minutes = field("minutes-", cell.key);
    if (minutes && (!sent || minutes.value === sent["minutes-"])) {
      minutes.value = cell.minutes === null ? "" : String(cell.minutes);
    }
    var source = td && td.querySelector("[data-source]");
    if (source) { source.textContent = cell.source; }
  }

  function finish(td, key, outcome) {
    td.classList.remove("saving");
    td.classList.add(outcome);
    busy[key] = false;
    if (again[key]) {
      again[key] = false;
      save(td);
    }
  }

  function save(td) {
    var key = td.getAttribute("data-cell");
    if (busy[key]) { again[key] = true; return; }
    busy[key] = true;
    var data = new FormData();
    var sent = {};
    data.append("csrf_token", form.elements.csrf_token.value);
    ["present-", "minutes-", "was-"].forEach(function (prefix) {
      var input = field(prefix, key);
      if (input) {
        data.append(prefix + key, input.value);
        sent[prefix] = input.value;
      }
    });
    td.classList.remove("saved", "failed");
    td.classList.add("saving");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        // A page instead of an answer: the form expired or the sign-in ended.
        return { ok: false, body: { error: "reload the page (the form may have expired)." } };
      }
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        say("Not saved: " + (result.body.error || "the server refused it."));
        finish(td, key, "failed");
        return;
      }
      (result.body.cells || []).forEach(function (cell) {
        show(cell, cell.key === key ? sent : null);
      });
      Object.keys(result.body.verdicts || {}).forEach(function (id) {
        var verdict = form.querySelector('[data-verdict="' + id + '"]');
        if (verdict) { verdict.textContent = result.body.verdicts[id]; }
      });
      say(result.body.message);
      finish(td, key, result.body.conflicts && result.body.conflicts.length ? "failed" : "saved");
    }).catch(function () {
      say("Not saved: the connection failed. Press Save attendance to try again.");
      finish(td, key, "failed");
    });
  }

  form.addEventListener("change", function (event) {
    var td = event.target.closest("[data-cell]");
    if (td) { save(td); }
  });
})();
