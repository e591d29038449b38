// Rapport's only script of its own: small behaviours that CSP forbids inline.
(function () {
  "use strict";
  // Auto-submit filter forms when a select changes (the form still works without JS).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form && !window.htmx) {
      el.form.submit();
    }
  });
})();
