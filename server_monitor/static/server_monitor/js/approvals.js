/* "Waiting for approval" (fragments/approvals.html). Without this module each button is a
 * plain form the page's own views answer; with it, a confirmation dialog, then the API
 * (each form carries its address: data-approval-api), and the progress and the outcome in
 * the row acted on, where the eye is (also on a phone), as well as on the page-level line
 * for screen readers. The section is redrawn by every refresh: what a row says while it
 * is acted on is painted again after each redraw. */
import { announce, csrfToken, getJson, sleep } from "./http.js";

const POLL_MS = 1000;
const POLL_LIMIT_MS = 120000; // as restart.js: systemctl's 30 s, a proxy's stop, the settle time, and room

const WORDS = {
  approve: {
    question: function (ask) { return "Approve the restart of " + ask.service + "?"; },
    explain: function () { return "It runs at once, recorded with you as its approver. Connections to this service drop for a moment."; },
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

function kindOf(row) {
  if (row.status === "succeeded") return "ok";
  if (row.status === "running" || row.status === "pending") return "info";
  return ["rejected", "withdrawn", "expired"].indexOf(row.status) >= 0 ? "warn" : "bad";
}

export function startApprovals(page, fragments) {
  const holder = page.querySelector('[data-fragment="approvals"]');
  const dialog = document.getElementById("approval-dialog");
  if (!holder) return;
  const shown = {}; // restart id -> {text, kind, busy}: what its row says, kept across redraws
  let asked = null; // the action that waits for confirmation

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

  page.addEventListener("fragment-shown", function (event) {
    if (event.detail && event.detail.name === "approvals") Object.keys(shown).forEach(paint);
  });

  // The restart runs in the background (202, running) or the answer was lost: its row says how it ends.
  async function follow(ask) {
    const deadline = Date.now() + POLL_LIMIT_MS;
    while (Date.now() < deadline) {
      try {
        const row = await getJson(ask.rowApi);
        if (row.status !== "running") { say(ask.id, row.message + " (audit #" + ask.id + ").", kindOf(row), false); return; }
      } catch (error) {
        /* the proxy between its stop and its start: ask again */
      }
      await sleep(POLL_MS);
    }
    say(ask.id, "Restart #" + ask.id + " is still running; Recent restarts will show how it ends.", "info", false);
  }

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
      api: form.dataset.approvalApi,
      rowApi: row.dataset.approvalRowApi,
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
      response = await fetch(ask.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(ask.verb === "reject" ? { reason: ask.reason } : {}),
      });
      body = await response.json().catch(function () { return {}; });
    } catch (error) {
      response = null;
    }
    if (!response || (response.status >= 500 && !body.message)) {
      // No answer, or not the dashboard's (a proxy's error page): the audit row says what happened.
      say(ask.id, "No answer came; looking up what became of restart #" + ask.id + "…", "info", true);
      await follow(ask);
    } else if (body.message) {
      const kind = !body.success ? "bad" : response.status === 202 ? "info" : ask.verb === "approve" ? "ok" : "warn";
      say(ask.id, body.message + " (audit #" + ask.id + ").", kind, response.status === 202);
      if (response.status === 202 && body.status === "running") await follow(ask);
    } else {
      const why = body.detail || response.status + " " + response.statusText;
      say(ask.id, why, response.status === 409 ? "warn" : "bad", false);
    }
    ["approvals", "services", "restarts"].forEach(fragments.refresh);
  }

  if (dialog) {
    dialog.addEventListener("close", function () {
      const ask = asked;
      asked = null;
      if (dialog.returnValue === "confirm" && ask) run(ask);
    });
  }
}
