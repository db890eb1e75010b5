// Review console behaviour that needs the browser: click-to-reveal media, keyboard shortcuts
// (listed in the "?" overlay on the case page), and small form conveniences.
(function () {
  "use strict";

  if (window.htmx) {
    // Swapped-in buttons work at once (htmx otherwise wires them up 20 ms later), so a quick
    // second key press lands on the new question rather than on nothing.
    htmx.config.defaultSettleDelay = 0;
    // Field errors (409, 422) come back as HTML fragments carrying the message: show them.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "409|422", swap: true, error: true },
      { code: "...", swap: false, error: true },
    ];
  }

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // Each media item is revealed on its own; the others stay blurred and muted.
  function toggleMedia(figure) {
    const shown = figure.classList.toggle("revealed");
    figure.querySelectorAll("audio, video").forEach((m) => { m.muted = !shown; });
    const button = figure.querySelector("[data-reveal]");
    button.textContent = shown ? "Blur again" : "Reveal";
    button.setAttribute("aria-pressed", String(shown));
  }

  function submitDecision() {
    const form = document.getElementById("decision");
    const decide = form && form.querySelector("[data-decide]");
    if (decide && form.reportValidity()) form.requestSubmit(decide);
    return Boolean(decide);
  }

  function click(selector) {
    const el = document.querySelector(selector);
    if (el) el.click();
    return Boolean(el);
  }

  function toggleHelp() {
    const help = document.getElementById("shortcuts");
    if (!help) return false;
    if (help.open) help.close(); else help.showModal();
    return true;
  }

  const keys = {
    "?": toggleHelp,
    n: () => { const f = document.getElementById("next-case"); if (f) f.requestSubmit(); return Boolean(f); },
    v: () => click('#decision-panel [data-shortcut="v"]'),
    r: () => click(".media:not(.revealed) [data-reveal]"),
    c: () => { const box = document.getElementById("comment-body"); if (box) box.focus(); return Boolean(box); },
    Enter: submitDecision,
  };

  document.addEventListener("click", (event) => {
    const reveal = event.target.closest("[data-reveal]");
    if (reveal) toggleMedia(reveal.closest("[data-media]"));
    if (event.target.closest("[data-help]")) toggleHelp();
    const all = event.target.closest("[data-select-all]");
    if (all) {
      document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`).forEach((box) => { box.checked = all.checked; });
    }
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey) return;
    const target = event.target;
    if (typing(target)) {
      if (event.key === "Escape") target.blur();
      else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.form && target.form.id === "decision") {
        event.preventDefault();
        submitDecision();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    // Enter on a focused button or link keeps its usual meaning.
    if (event.key === "Enter" && target !== document.body && target.closest("button, a, summary")) return;
    if (document.getElementById("shortcuts")?.open && event.key !== "?") return;
    const digit = /^[1-9]$/.test(event.key) ? event.key : null;
    const handled = digit ? click(`#decision-panel [data-answer="${digit}"]`) : (keys[event.key] || (() => false))();
    if (handled) event.preventDefault();
  });
})();
