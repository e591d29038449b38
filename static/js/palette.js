// Keyboard first (issue #16): the command palette (Ctrl/Cmd+K), the shortcuts help (?),
// "g" then a letter to go to a main page, "/" to search, and the quick-log form's keys (its
// summary focused when the form opens, Ctrl/Cmd+Enter to log it). The dialogs' markup is
// templates/core/palette.html; the list comes from core.views.palette through htmx. Without
// this script the top bar's palette button is a link to the search page.
(function () {
  "use strict";

  var palette = document.getElementById("palette");
  var help = document.getElementById("shortcuts");
  var QUICK_LOG = "quick-log";

  // A field that takes typed text: single letters typed there are text, not shortcuts.
  function isTyping(el) {
    if (!el || !el.tagName) {
      return false;
    }
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") {
      return true;
    }
    return el.tagName === "INPUT" &&
      !/^(button|submit|reset|checkbox|radio|range|color|file|image)$/i.test(el.type);
  }

  // --- Quick-log form (relationship pages) -------------------------------------------------

  function focusQuickLog() {
    var form = document.getElementById(QUICK_LOG);
    if (!form) {
      return false;
    }
    // After a refused submit, the first field at fault; otherwise the summary.
    var field = form.querySelector('[aria-invalid="true"]') || form.querySelector('[name="summary"]');
    if (!field) {
      return false;
    }
    field.focus();
    return true;
  }

  function describeQuickLog(root) {
    var form = root.id === QUICK_LOG ? root : root.querySelector && root.querySelector("#" + QUICK_LOG);
    var summary = form && form.querySelector('[name="summary"]');
    if (summary) {
      summary.setAttribute("aria-keyshortcuts", "Control+Enter Meta+Enter");
    }
  }

  describeQuickLog(document);
  // The form "opens" when a link leads to it (#quick-log: the home page's "Log interaction",
  // the palette) and when htmx swaps it in (a fresh form after logging, or the errors).
  if (window.location.hash === "#" + QUICK_LOG) {
    focusQuickLog();
    // The browser's scroll to the fragment then focuses the page itself (the form is not
    // focusable): once the page has loaded, focus the summary again, unless the reader has
    // moved on already.
    var again = function () {
      window.requestAnimationFrame(function () {
        var el = document.activeElement;
        if (!el || el === document.body || el === document.documentElement) {
          focusQuickLog();
        }
      });
    };
    if (document.readyState === "complete") {
      again();
    } else {
      window.addEventListener("load", again, { once: true });
    }
  }
  window.addEventListener("hashchange", function () {
    if (window.location.hash === "#" + QUICK_LOG) {
      focusQuickLog();
    }
  });
  document.addEventListener("htmx:load", function (event) {
    if (event.target.id === QUICK_LOG) {
      describeQuickLog(event.target);
      focusQuickLog();
    }
  });

  function submitQuickLog(event) {
    var form = event.target.closest && event.target.closest("#" + QUICK_LOG);
    if (!form || !isTyping(event.target)) {
      return;
    }
    event.preventDefault();
    if (form.classList.contains("htmx-request")) {
      return; // already on its way: a second press must not log it twice
    }
    if (form.requestSubmit) {
      form.requestSubmit(); // validates, and htmx sends it as a click on "Log it" would
    } else {
      form.submit();
    }
  }

  // --- Dialogs -------------------------------------------------------------------------------

  var opener = null; // what had focus before a dialog opened: it gets focus back on close

  function openDialogElement() {
    if (palette && palette.open) {
      return palette;
    }
    return help && help.open ? help : null;
  }

  function openDialog(dialog) {
    var current = openDialogElement();
    if (current === dialog) {
      return;
    }
    if (current) {
      current.setAttribute("data-closed", ""); // one dialog replaces the other: keep opener
      current.close();
    } else {
      opener = document.activeElement;
    }
    dialog.showModal();
  }

  // Focus back where it was, at once: left to the browser, focus can stay a moment on a field
  // of the closed dialog, where the next key typed would go.
  function giveFocusBack(dialog, back) {
    if (back && back !== document.body && back.isConnected && back.focus) {
      back.focus();
    }
    if (dialog.contains(document.activeElement)) {
      document.activeElement.blur();
    }
  }

  // Every close goes through here. ``movingOn``: focus goes on elsewhere (the quick-log form,
  // a new page), not back.
  function closeDialog(dialog, movingOn) {
    if (!dialog.open) {
      return;
    }
    var back = opener;
    opener = null;
    dialog.setAttribute("data-closed", ""); // the close event: handled already
    dialog.close();
    if (!movingOn) {
      giveFocusBack(dialog, back);
    }
  }

  function focusables(dialog) {
    var all = dialog.querySelectorAll("a[href], button, input, select, textarea, [tabindex]");
    return Array.prototype.filter.call(all, function (el) {
      return el.tabIndex >= 0 && !el.disabled && el.type !== "hidden" && el.getClientRects().length > 0;
    });
  }

  function setUpDialog(dialog) {
    dialog.addEventListener("close", function () {
      if (dialog.hasAttribute("data-closed")) {
        dialog.removeAttribute("data-closed");
        return;
      }
      var back = opener; // closed by the browser itself
      opener = null;
      giveFocusBack(dialog, back);
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !event.isComposing) {
        event.preventDefault();
        closeDialog(dialog);
      }
    });
    // Tab and Shift+Tab go round the dialog's own controls, never out of it.
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") {
        return;
      }
      var items = focusables(dialog);
      var first = items[0];
      var last = items[items.length - 1];
      if (!items.length) {
        event.preventDefault();
      } else if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
        event.preventDefault();
        first.focus();
      }
    });
    // A click on the backdrop (outside the dialog's box) closes it.
    dialog.addEventListener("click", function (event) {
      if (event.target !== dialog) {
        return;
      }
      var box = dialog.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) {
        closeDialog(dialog);
      }
    });
    dialog.querySelectorAll("[data-dialog-close]").forEach(function (button) {
      button.addEventListener("click", function () {
        closeDialog(dialog);
      });
    });
  }

  if (help) {
    setUpDialog(help);
  }

  // --- The command palette -------------------------------------------------------------------

  var input = palette && document.getElementById("palette-input");
  var ready = Boolean(input && window.htmx && palette.showModal);

  if (ready) {
    setUpDialog(palette);
    var modeField = document.getElementById("palette-mode");
    var modeLabel = document.getElementById("palette-mode-label");
    var results = document.getElementById("palette-results");
    var status = document.getElementById("palette-status");
    var defaultPlaceholder = input.placeholder;
    var requested = null; // the text and mode of the last request sent
    var shown = null; // … and of the list on screen
    var pendingEnter = false; // Enter pressed before the list caught up with the typing

    var current = function () {
      return modeField.value + "\n" + input.value;
    };
    var options = function () {
      return Array.prototype.slice.call(results.querySelectorAll('[role="option"]'));
    };
    var activeOption = function () {
      var id = input.getAttribute("aria-activedescendant");
      return id ? document.getElementById(id) : null;
    };
    var setActive = function (option, scroll) {
      options().forEach(function (each) {
        each.setAttribute("aria-selected", each === option ? "true" : "false");
      });
      if (option) {
        input.setAttribute("aria-activedescendant", option.id);
        if (scroll !== false) {
          option.scrollIntoView({ block: "nearest" });
        }
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    };
    var move = function (step) {
      var all = options();
      if (!all.length) {
        return;
      }
      var index = all.indexOf(activeOption());
      if (index < 0) {
        index = step > 0 ? 0 : all.length - 1;
      } else {
        index = (index + step + all.length) % all.length;
      }
      setActive(all[index]);
    };
    var refresh = function () {
      shown = null;
      window.htmx.trigger(input, "palette-refresh");
    };
    var setMode = function (mode) {
      modeField.value = mode;
      modeLabel.hidden = mode !== "log";
      input.placeholder = mode === "log" ? input.getAttribute("data-placeholder-log") : defaultPlaceholder;
    };
    var clearList = function () {
      setActive(null);
      var listbox = document.getElementById("palette-listbox");
      if (listbox) {
        listbox.replaceChildren();
      }
      input.setAttribute("aria-expanded", "false");
    };

    var openPalette = function () {
      openDialog(palette);
      input.value = "";
      setMode("");
      clearList();
      pendingEnter = false;
      input.focus();
      refresh();
    };

    var sameDocument = function (link) {
      return link.origin === window.location.origin && link.pathname === window.location.pathname &&
        link.search === window.location.search;
    };

    var choose = function (option) {
      if (!option) {
        return;
      }
      var command = option.getAttribute("data-command");
      if (command === "help") {
        openDialog(help);
        return;
      }
      if (command === "log") {
        if (document.getElementById(QUICK_LOG)) {
          closeDialog(palette, true); // on a relationship's page: its own form
          focusQuickLog();
          return;
        }
        setMode("log"); // then pick the relationship
        input.value = "";
        clearList();
        input.focus();
        refresh();
        return;
      }
      closeDialog(palette, true);
      if (sameDocument(option) && option.hash === "#" + QUICK_LOG) {
        window.history.replaceState(null, "", option.hash);
        focusQuickLog();
        return;
      }
      window.location.assign(option.href);
    };

    input.addEventListener("htmx:configRequest", function () {
      requested = current();
    });
    results.addEventListener("htmx:afterSwap", function () {
      shown = requested;
      var all = options();
      setActive(all[0] || null);
      input.setAttribute("aria-expanded", all.length ? "true" : "false");
      var listbox = document.getElementById("palette-listbox");
      var message = results.querySelector(".palette-message");
      status.textContent = message ? message.textContent : (listbox && listbox.getAttribute("data-summary")) || "";
      if (pendingEnter && palette.open && shown === current()) {
        pendingEnter = false;
        choose(activeOption());
      }
    });
    input.addEventListener("htmx:afterRequest", function (event) {
      if (!event.detail.successful) {
        pendingEnter = false;
        status.textContent = "The list could not be loaded. Try again.";
      }
    });

    input.addEventListener("keydown", function (event) {
      if (event.isComposing) {
        return;
      }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        if (shown !== current()) {
          pendingEnter = true; // act on the list for what is typed now, once it arrives
        } else {
          choose(activeOption());
        }
      } else if (event.key === "Backspace" && !input.value && modeField.value) {
        event.preventDefault(); // out of "log" mode, back to everything
        setMode("");
        clearList();
        refresh();
      }
    });
    input.addEventListener("input", function () {
      pendingEnter = false;
    });

    results.addEventListener("mousemove", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option && option !== activeOption()) {
        setActive(option, false);
      }
    });
    results.addEventListener("click", function (event) {
      var option = event.target.closest('[role="option"]');
      if (!option || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        return; // a new tab or window: the browser's own way
      }
      event.preventDefault();
      choose(option);
    });

    // The top bar's button: a link to the search page until this script takes it over.
    document.querySelectorAll("[data-palette-open]").forEach(function (button) {
      button.setAttribute("role", "button");
      button.setAttribute("aria-haspopup", "dialog");
      button.addEventListener("click", function (event) {
        event.preventDefault();
        openPalette();
      });
    });
  }

  // --- Shortcuts -----------------------------------------------------------------------------

  var goPending = false; // "g" pressed: the next letter names where to go
  var goTimer = null;

  function goTo(letter) {
    var links = help ? help.querySelectorAll("[data-go]") : [];
    for (var i = 0; i < links.length; i++) {
      if (links[i].getAttribute("data-go") === letter) {
        window.location.assign(links[i].href);
        return true;
      }
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) {
      return;
    }
    var key = event.key;
    var command = event.ctrlKey || event.metaKey;
    if (command && !event.altKey && !event.shiftKey && (key === "k" || key === "K")) {
      if (ready) {
        event.preventDefault(); // the browser's own Ctrl+K (its search bar) gives way
        if (palette.open) {
          closeDialog(palette);
        } else {
          openPalette();
        }
      }
      return;
    }
    if (command && key === "Enter") {
      submitQuickLog(event);
      return;
    }
    if (command || event.altKey || openDialogElement() || isTyping(event.target)) {
      goPending = false;
      return;
    }
    if (goPending) {
      goPending = false;
      window.clearTimeout(goTimer);
      if (goTo(key)) {
        event.preventDefault();
      }
      return;
    }
    if (key === "g") {
      goPending = true;
      goTimer = window.setTimeout(function () {
        goPending = false;
      }, 1500);
    } else if (key === "?" && help) {
      event.preventDefault();
      openDialog(help);
    } else if (key === "/") {
      var box = document.querySelector('.navbar-search input[type="search"]');
      if (box) {
        event.preventDefault();
        box.focus();
        box.select();
      }
    }
  });
})();
