/* coachloop: keyboard shortcuts of the evaluation form (quality/edit.html).
   The form works without this file; it only adds keys and click-to-pin. No inline code, no
   eval: the Content Security Policy allows neither. The shortcuts are listed on the page. */
(function () {
  "use strict";

  var form = document.getElementById("evaluation-form");
  if (!form) return;

  var current = -1;          // index of the current criterion
  var lastTurn = null;       // the transcript turn focused last

  function criteria() {
    return Array.prototype.slice.call(form.querySelectorAll("fieldset.criterion"));
  }

  function turns() {
    return Array.prototype.slice.call(document.querySelectorAll(".transcript .turn[data-turn]"));
  }

  function setCurrent(index, focus) {
    var all = criteria();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (el, i) { el.classList.toggle("current", i === index); });
    current = index;
    if (focus) {
      all[index].focus({ preventScroll: true });
      all[index].scrollIntoView({ block: "nearest" });
    }
  }

  function currentCriterion() {
    var all = criteria();
    return current >= 0 && current < all.length ? all[current] : null;
  }

  function isTyping(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) return true;
    if (tag !== "input") return false;
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit"].indexOf(type) === -1;
  }

  function answer(shortcut) {
    if (current < 0) setCurrent(0, false);
    var criterion = currentCriterion();
    if (!criterion) return false;
    var input = criterion.querySelector('input[type="radio"][data-shortcut="' + shortcut + '"]');
    if (!input) return false;
    input.checked = true;
    // htmx saves on "change": the form's live score follows.
    input.dispatchEvent(new Event("change", { bubbles: true }));
    setCurrent(current + 1, true);
    return true;
  }

  function commentBox(criterion) {
    return criterion ? criterion.querySelector(".comment-box") : document.getElementById("comments-general");
  }

  function openComment(box) {
    if (!box) return null;
    var details = box.querySelector("details.add-comment");
    if (details) details.open = true;
    var text = box.querySelector("textarea.comment-input");
    if (text) text.focus();
    return box;
  }

  function pin(turn) {
    if (!turn) return;
    var box = commentBox(currentCriterion());
    if (!box) return;
    var select = box.querySelector("select.pin-turn");
    if (select) {
      select.value = turn.getAttribute("data-turn");
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    turns().forEach(function (el) { el.classList.toggle("pin-target", el === turn); });
    openComment(box);
  }

  function moveTurn(step) {
    var all = turns();
    if (!all.length) return;
    var at = all.indexOf(document.activeElement);
    if (at === -1) at = lastTurn ? all.indexOf(lastTurn) : -1;
    var next = all[Math.max(0, Math.min(at + step, all.length - 1))];
    next.focus();
  }

  function submit() {
    var button = document.getElementById("submit-evaluation");
    if (!button) return;
    if (form.requestSubmit) form.requestSubmit(button);
    else button.click();
  }

  form.addEventListener("focusin", function (event) {
    var criterion = event.target.closest ? event.target.closest("fieldset.criterion") : null;
    if (criterion) setCurrent(criteria().indexOf(criterion), false);
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches(".transcript .turn[data-turn]")) {
      lastTurn = event.target;
    }
  });

  document.addEventListener("click", function (event) {
    var turn = event.target.closest ? event.target.closest(".transcript .turn[data-turn]") : null;
    if (turn) pin(turn);
  });

  // After htmx replaces a comment box, keep the keyboard where it was.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var box = event.detail && event.detail.target;
    if (box && box.id && box.id.indexOf("comments-") === 0) {
      var fresh = document.getElementById(box.id);
      var criterion = fresh ? fresh.closest("fieldset.criterion") : null;
      if (criterion) criterion.focus({ preventScroll: true });
    }
  });

  document.addEventListener("keydown", function (event) {
    var key = event.key;
    if ((event.ctrlKey || event.metaKey) && key === "Enter") {
      event.preventDefault();
      submit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (isTyping(target)) {
      if (key === "Escape") {
        var criterion = target.closest("fieldset.criterion");
        if (criterion) criterion.focus();
        else target.blur();
      }
      return;
    }
    var onTurn = target.matches && target.matches(".transcript .turn[data-turn]");
    var onRadio = target.tagName && target.tagName.toLowerCase() === "input";
    var handled = true;
    if (key === "j" || (key === "ArrowDown" && !onTurn && !onRadio)) {
      setCurrent(current + 1, true);
    } else if (key === "k" || (key === "ArrowUp" && !onTurn && !onRadio)) {
      setCurrent(current < 0 ? 0 : current - 1, true);
    } else if (onTurn && (key === "ArrowDown" || key === "ArrowUp")) {
      moveTurn(key === "ArrowDown" ? 1 : -1);
    } else if (key === "p" || (onTurn && key === "Enter")) {
      pin(onTurn ? target : lastTurn);
    } else if (key === "t") {
      var all = turns();
      if (all.length) (lastTurn || all[0]).focus();
    } else if (key === "c") {
      openComment(commentBox(currentCriterion()));
    } else if (key === "g") {
      var guidance = currentCriterion() && currentCriterion().querySelector("details.guidance");
      if (guidance) guidance.open = !guidance.open;
    } else if (key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) help.open = !help.open;
    } else if (/^[0-9yna]$/.test(key)) {
      handled = answer(key);
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
