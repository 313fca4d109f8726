/* wpdash status page: the "Waiting for approval" section (fragments/approvals.html).
 * Without this script each button is a plain form the page's own views answer; with it,
 * a confirmation dialog, then the API, and the progress and the outcome in the row that
 * was acted on (where the eye is, also on a phone), and on the page-level line for
 * screen readers. status.js redraws the section every 10 s; what a row says while it is
 * acted on is painted again after each redraw. */
(function () {
  "use strict";

  const page = document.querySelector("[data-status-page]");
  const holder = document.querySelector('[data-fragment="approvals"]');
  const dialog = document.getElementById("approval-dialog");
  if (!page || !holder) return;

  const API = "/api/v1/server/restarts/";
  const POLL_MS = 1000;
  const POLL_LIMIT_MS = 120000; // as status.js: systemctl's 30 s, a proxy's stop, the settle time, and room
  const shown = {}; // restart id -> {text, kind, busy}: what its row says, kept across redraws

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function announce(message, kind) {
    const region = document.getElementById("action-result");
    if (!region) return;
    region.textContent = message;
    region.className = "banner " + (kind || "info");
    region.hidden = false;
  }

  function paint(id) {
    const said = shown[id];
    const row = holder.querySelector('[data-approval="' + id + '"]');
    if (!said || !row) return;
    const place = row.querySelector("[data-approval-outcome]");
    if (place) {
      place.textContent = said.text;
      place.className = "approval-outcome " + said.kind;
      place.hidden = false;
    }
    row.querySelectorAll("button, input").forEach(function (control) { control.disabled = said.busy; });
  }

  function say(id, text, kind, busy) {
    shown[id] = { text: text, kind: kind, busy: busy };
    paint(id);
    announce(text, kind);
  }

  // The section is replaced whole by each refresh: paint the rows acted on again.
  new MutationObserver(function () { Object.keys(shown).forEach(paint); }).observe(holder, { childList: true });

  async function refreshFragment(name) {
    const section = document.querySelector('[data-fragment="' + name + '"]');
    if (!section) return;
    try {
      const response = await fetch(section.dataset.url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
      if (response.ok && !response.redirected) section.innerHTML = await response.text();
    } catch (error) {
      /* the next regular refresh brings it */
    }
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function kindOf(row) {
    return row.status === "succeeded" ? "ok" : row.status === "running" || row.status === "pending" ? "info"
      : row.status === "rejected" || row.status === "withdrawn" || row.status === "expired" ? "warn" : "bad";
  }

  // The restart runs in the background (202, running) or the answer was lost: its row says how it ends.
  async function follow(id) {
    const deadline = Date.now() + POLL_LIMIT_MS;
    while (Date.now() < deadline) {
      try {
        const response = await fetch(API + id, { credentials: "same-origin", headers: { "Accept": "application/json" } });
        if (response.ok) {
          const row = await response.json();
          if (row.status !== "running") { say(id, row.message + " (audit #" + id + ").", kindOf(row), false); return; }
        }
      } catch (error) {
        /* the proxy between its stop and its start: ask again */
      }
      await sleep(POLL_MS);
    }
    say(id, "Restart #" + id + " is still running; Recent restarts will show how it ends.", "info", false);
  }

  const WORDS = {
    approve: {
      question: function (ask) { return "Approve the restart of " + ask.service + "?"; },
      explain: function () { return "It runs at once and is recorded with you as its approver. Connections to this service drop for a moment."; },
      button: "Approve and restart",
      progress: function (ask) { return "Approved, restarting " + ask.service + "…"; },
    },
    reject: {
      question: function (ask) { return "Reject the restart of " + ask.service + "?"; },
      explain: function (ask) { return ask.reason ? "Reason: “" + ask.reason + "”." : "No reason given (the field beside Reject takes one)."; },
      button: "Reject",
      progress: function (ask) { return "Rejecting the restart of " + ask.service + "…"; },
    },
    withdraw: {
      question: function (ask) { return "Withdraw your restart of " + ask.service + "?"; },
      explain: function () { return "Nobody can approve it afterwards; ask again if it is still needed."; },
      button: "Withdraw",
      progress: function (ask) { return "Withdrawing the restart of " + ask.service + "…"; },
    },
  };

  let asked = null;

  page.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-approval-action]");
    if (!form || !dialog || typeof dialog.showModal !== "function") return; // no dialog: the plain form works
    const row = form.closest("[data-approval]");
    const words = WORDS[form.dataset.approvalAction];
    if (!row || !words) return;
    event.preventDefault();
    const reason = form.querySelector("input[name=reason]");
    asked = {
      id: row.dataset.approval,
      verb: form.dataset.approvalAction,
      service: row.dataset.approvalService,
      reason: reason ? reason.value.trim() : "",
    };
    dialog.querySelector("[data-approval-question]").textContent = words.question(asked);
    dialog.querySelector("[data-approval-explain]").textContent = words.explain(asked);
    dialog.querySelector("[data-approval-confirm]").textContent = words.button;
    dialog.returnValue = ""; // Escape closes without a value: never the previous "confirm"
    dialog.showModal();
  });

  async function run(ask) {
    say(ask.id, WORDS[ask.verb].progress(ask), "info", true);
    let response = null, body = {};
    try {
      response = await fetch(API + ask.id + "/" + ask.verb, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json", "Content-Type": "application/json" },
        body: ask.verb === "reject" ? JSON.stringify({ reason: ask.reason }) : "{}",
      });
      body = await response.json().catch(function () { return {}; });
    } catch (error) {
      response = null;
    }
    if (!response || (response.status >= 500 && !body.message)) {
      // No answer, or not the dashboard's (a proxy's error page): the audit row says what happened.
      say(ask.id, "No answer came; looking up what became of restart #" + ask.id + "…", "info", true);
      await follow(ask.id);
    } else if (body.message) {
      const kind = !body.success ? "bad" : response.status === 202 ? "info" : ask.verb === "approve" ? "ok" : "warn";
      say(ask.id, body.message + " (audit #" + ask.id + ").", kind, response.status === 202);
      if (response.status === 202 && body.status === "running") await follow(ask.id);
    } else {
      say(ask.id, body.detail || response.status + " " + response.statusText, response.status === 409 ? "warn" : "bad", false);
    }
    refreshFragment("approvals");
    refreshFragment("services");
    refreshFragment("restarts");
  }

  if (dialog) {
    dialog.addEventListener("close", function () {
      const ask = asked;
      asked = null;
      if (dialog.returnValue === "confirm" && ask) run(ask);
    });
  }
})();
