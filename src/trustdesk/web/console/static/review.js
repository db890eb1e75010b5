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
    // A canned text (a rationale) fills its form's box, ready to edit; a copy button puts the box's text on the clipboard.
    const fill = event.target.closest("[data-fill]");
    const box = fill && fill.form && fill.form.elements[fill.dataset.fill];
    if (box) { box.value = fill.dataset.text; box.focus(); }
    const copy = event.target.closest("[data-copy]");
    const copied = copy && copy.form && copy.form.elements[copy.dataset.copy];
    if (copied && navigator.clipboard) navigator.clipboard.writeText(copied.value);
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });

  // --- Live SLA timers and ages --------------------------------------------------------
  // Elements carry their moment in epoch milliseconds (data-due-ms, data-since-ms) and the
  // server's clock at render time (data-now-ms), so a browser whose clock is off still counts
  // right. The wording matches the server's (trustdesk.web.console.review.due).
  const MINUTE = 60000;
  const stamp = document.querySelector("[data-now-ms]");
  const skew = stamp ? Number(stamp.dataset.nowMs) - Date.now() : 0;

  function span(minutes) {
    const whole = Math.floor(minutes);
    if (whole < 1) return "<1 min";
    if (whole < 60) return `${whole} min`;
    if (whole < 1440) return `${Math.floor(whole / 60)} h ${whole % 60} min`;
    return `${Math.floor(whole / 1440)} d ${Math.floor((whole % 1440) / 60)} h`;
  }

  function show(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  function updateTimers() {
    const now = Date.now() + skew;
    document.querySelectorAll("[data-due-ms]").forEach((el) => {
      const left = (Number(el.dataset.dueMs) - now) / MINUTE;
      const breached = left < 0;
      show(el, breached ? `breached ${span(-left)} ago` : `${span(left)} left`);
      el.classList.toggle("late", breached);
      const row = el.closest("tr[data-case]");
      if (row) row.classList.toggle("breached", breached);
    });
    document.querySelectorAll("[data-since-ms]").forEach((el) => {
      show(el, `${span((now - Number(el.dataset.sinceMs)) / MINUTE)} ago`);
    });
  }

  // --- The lease: renewed only while the reviewer is active ------------------------------
  // A key, the mouse, a scroll or the page shown again counts as activity. While there was
  // some within data-active-within seconds, the lease is renewed every data-renew-every
  // seconds; an idle page stops renewing, so the case goes back to the queue. Coming back
  // renews at once, and the answer says whether the case is still yours.
  let lastActive = Date.now();
  let lastRenew = Date.now();

  function leaseBadge() {
    return document.querySelector("[data-lease]");
  }

  function idle(badge) {
    return Date.now() - lastActive > Number(badge.dataset.activeWithin) * 1000;
  }

  function renew(badge) {
    lastRenew = Date.now();
    if (window.htmx) htmx.trigger(badge, "renew");
  }

  function active() {
    const badge = leaseBadge();
    const wasIdle = badge && idle(badge);
    lastActive = Date.now();
    if (wasIdle) renew(badge);
  }

  ["keydown", "pointerdown", "pointermove", "wheel", "scroll", "touchstart"].forEach((type) => {
    document.addEventListener(type, active, { capture: true, passive: true });
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) active(); });

  function tickLease() {
    const badge = leaseBadge();
    if (!badge) return;
    const away = idle(badge);
    badge.classList.toggle("idle", away);
    const state = badge.querySelector("[data-lease-state]");
    if (state) show(state, away ? "away? it goes back to the queue in a few minutes" : "yours while you work on it");
    if (!away && Date.now() - lastRenew >= Number(badge.dataset.renewEvery) * 1000) renew(badge);
  }

  updateTimers();
  setInterval(() => { updateTimers(); tickLease(); }, 1000);

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
