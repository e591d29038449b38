// Rapport's only script of its own: small behaviours that CSP forbids inline.
(function () {
  "use strict";
  // Filter disclosures (<details class="filters">) start open on a wide screen. On a phone
  // they stay as the server rendered them: closed, or open when a filter is active.
  if (window.matchMedia("(min-width: 768px)").matches) {
    document.querySelectorAll("details.filters").forEach(function (details) {
      details.open = true;
    });
  }

  // Auto-submit filter forms when a select changes (the form still works without JS).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form && !window.htmx) {
      el.form.submit();
    }
  });

  // <time datetime="…" data-local-time>: the server writes the time in the site's time
  // zone; the reader's own browser knows theirs, so say it in that (same "j M Y, H:i" form).
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function twoDigits(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function localTime(el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) {
      return;
    }
    el.textContent = when.getDate() + " " + MONTHS[when.getMonth()] + " " + when.getFullYear() +
      ", " + twoDigits(when.getHours()) + ":" + twoDigits(when.getMinutes());
    el.title = when.toLocaleString(undefined, {
      day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short"
    });
  }

  // Copy buttons: <button data-copy="field-id" hidden> copies that field's value. They stay
  // hidden without this script (the read-only field can still be selected by hand).
  function each(root, selector, fn) {
    if (root.matches && root.matches(selector)) {
      fn(root);
    }
    if (root.querySelectorAll) {
      root.querySelectorAll(selector).forEach(fn);
    }
  }

  function enhance(root) {
    each(root, "[data-copy]", function (button) {
      button.hidden = false;
    });
    each(root, "time[data-local-time]", localTime);
  }
  enhance(document);
  // Content htmx swaps in (a confirmation with a link to copy) is enhanced as it arrives.
  document.addEventListener("htmx:load", function (event) {
    enhance(event.target);
  });

  function copied(button, ok) {
    var label = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", label);
    button.textContent = ok ? "Copied" : "Press Ctrl+C to copy";
    window.setTimeout(function () {
      button.textContent = label;
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    function fallback() {
      // Older browsers, or a page not served over HTTPS: select it and ask execCommand.
      field.focus();
      field.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (error) {
        ok = false;
      }
      copied(button, ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () {
        copied(button, true);
      }, fallback);
    } else {
      fallback();
    }
  });
})();
