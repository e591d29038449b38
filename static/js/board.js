// The relationships board: drag a card to another column to move it.
//
// A drop submits the card's own stage-move form (the one its button submits) with the
// column's stage, so the same view, service and lifecycle rules decide. On success the
// server redraws the board; on refusal it redraws only the card, in its old column, with
// the reason. Either way the result is announced in #board-status for screen readers.
// The buttons remain the keyboard-accessible way to move a card.
(function () {
  "use strict";

  let dragged = null; // the card being dragged
  let pending = null; // {id, name, from, to}: the move we are waiting to hear back about

  function announce(text) {
    const status = document.getElementById("board-status");
    if (!status) return;
    // Clear first so the same message twice is still read out.
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = text;
    }, 50);
  }

  function columnOf(el) {
    return el ? el.closest(".board-column") : null;
  }

  function clearTargets() {
    document.querySelectorAll(".board-column.drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  }

  function submitMove(card, toStage) {
    const form = card.querySelector("form");
    if (!form) return;
    let input = form.querySelector("input[data-drop-stage]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "to_stage";
      input.dataset.dropStage = "";
      form.appendChild(input);
    }
    input.value = toStage;
    pending = {
      id: card.id,
      name: card.dataset.name,
      from: card.dataset.stage,
      to: toStage,
    };
    // No submitter: the button's own to_stage is not sent, only the column's.
    form.requestSubmit();
  }

  document.addEventListener("dragstart", function (event) {
    const card = event.target.closest && event.target.closest(".board-card[draggable=true]");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    const column = columnOf(event.target);
    if (!dragged || !column || column === columnOf(dragged)) return;
    event.preventDefault(); // allow the drop
    event.dataTransfer.dropEffect = "move";
    if (!column.classList.contains("drop-target")) {
      clearTargets();
      column.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    const column = columnOf(event.target);
    const card = dragged;
    clearTargets();
    if (!card || !column || column === columnOf(card)) return;
    event.preventDefault();
    submitMove(card, column.dataset.stage);
  });

  // A button press: remember what was asked, to announce the answer.
  document.addEventListener(
    "submit",
    function (event) {
      const card = event.target.closest(".board-card");
      if (!card || !event.submitter || event.submitter.name !== "to_stage") return;
      pending = {
        id: card.id,
        name: card.dataset.name,
        from: card.dataset.stage,
        to: event.submitter.value,
      };
    },
    true,
  );

  function stageLabel(stage) {
    const column = document.querySelector('.board-column[data-stage="' + stage + '"]');
    return column ? column.dataset.stageLabel : stage;
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (!pending) return;
    const move = pending;
    pending = null;
    const card = document.getElementById(move.id);
    const error = card && card.querySelector("[role=alert]");
    if (error) {
      announce(move.name + " was not moved: " + error.textContent.trim());
    } else {
      announce("Moved " + move.name + " to " + stageLabel(move.to) + ".");
    }
  });

  document.addEventListener("htmx:responseError", function () {
    if (!pending) return;
    announce(pending.name + " was not moved: the server did not answer. Try again.");
    pending = null;
  });
})();
