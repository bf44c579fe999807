// E-mailed links carry their code after "#", which the browser never sends to a server (so
// no log holds it). Put the code in the form and post it; without JavaScript the person
// pastes the link into the same form.
(function () {
  "use strict";
  var form = document.querySelector("form[data-link-code]");
  var code = window.location.hash.slice(1);
  if (!form || !code) { return; }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  form.querySelector("input[name=code]").value = decodeURIComponent(code);
  form.submit();
})();
