/* Restart with confirmation. The script calls the API the form's confirm page would
 * reach through the workflow, and shows the server's own words for the outcome ({success,
 * message}); it only adds the audit number. URLs come from the page: each card's form
 * carries its API address (data-restart-api), the page the audit log's (data-restarts-api).
 *
 * A restart's outcome is in its audit row. The page reads the row when the answer says the
 * restart runs in the background (202 with a running row: the proxy in front restarts), and
 * when no answer comes at all (the connection broke, or a proxy answered instead of the
 * dashboard), so a restart that worked is never shown as failed. */
import { announce, csrfToken, getJson, sleep } from "./http.js";

const POLL_MS = 1000;
const POLL_LIMIT_MS = 120000; // systemctl's 30 s, a proxy's graceful stop, the settle time, and room

export function startRestarts(page, fragments) {
  const dialog = document.getElementById("restart-dialog");
  const restartsApi = page.dataset.restartsApi;
  let pending = null; // the form whose restart waits for confirmation

  /* A restart's progress and outcome on the card acted on, where the eye is (on a phone the
   * page-level region is off screen; it stays, for screen readers). Kept per service, since
   * the services fragment is redrawn every refresh. */
  const cardOutcomes = {}; // service -> {text, kind, busy}

  function drawCardOutcome(service) {
    const state = cardOutcomes[service];
    const card = page.querySelector('[data-fragment="services"] [data-service="' + CSS.escape(service) + '"]');
    if (!state || !card) return;
    const line = card.querySelector("[data-card-outcome]");
    if (line) {
      line.textContent = state.text;
      line.className = "card-outcome " + state.kind;
      line.hidden = false;
    }
    // The line says "Restarting…"; the button only rests meanwhile.
    card.querySelectorAll("form[data-restart] button").forEach(function (button) { button.disabled = state.busy; });
  }
  page.addEventListener("fragment-shown", function (event) {
    if (event.detail.name === "services") Object.keys(cardOutcomes).forEach(drawCardOutcome);
  });

  // Says an outcome twice: on the card (seen) and in #action-result (heard).
  function tell(service, message, kind, busy) {
    cardOutcomes[service] = { text: message, kind: kind || "info", busy: !!busy };
    drawCardOutcome(service);
    announce(message, kind);
  }

  page.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-restart]");
    if (!form || !dialog || typeof dialog.showModal !== "function") return; // no dialog: the confirm page works
    event.preventDefault();
    pending = form;
    dialog.querySelector("[data-service-name]").textContent = form.dataset.restart;
    dialog.showModal();
  });

  async function newestRow(service) {
    const body = await getJson(restartsApi + "?service=" + encodeURIComponent(service));
    return body.results && body.results.length ? body.results[0] : null;
  }

  function showRow(row) {
    const kind = row.status === "succeeded" ? "ok" : row.status === "running" || row.status === "pending" ? "info"
      : row.status === "rejected" ? "warn" : "bad";
    tell(row.service, row.message + " (audit #" + row.id + ").", kind, row.status === "running");
  }

  // Until the row ends; a failed poll (the proxy between its stop and its start) is asked again.
  async function followRow(row) {
    const deadline = Date.now() + POLL_LIMIT_MS;
    let reached = true;
    while (row.status === "running" && Date.now() < deadline) {
      await sleep(POLL_MS);
      try { row = await getJson(restartsApi + "/" + row.id); reached = true; } catch (error) { reached = false; }
    }
    if (row.status !== "running") {
      showRow(row);
    } else if (reached) {
      tell(row.service, "Restart of " + row.service + " is still running (audit #" + row.id + "); Recent restarts will show how it ends.", "info");
    } else {
      // The proxy restarted never came back (a broken config stops it for good): say so, not "failed".
      tell(row.service, "Restart of " + row.service + " (audit #" + row.id + "): the dashboard has not been reachable since; "
        + row.service + " may not have come back. Its outcome is in the audit row.", "warn");
    }
  }

  // The answer was lost: the newest row of the service, if it is newer than the one seen before
  // the request (`before`: its id, 0 for none, undefined when it could not be read).
  async function lookUp(service, before) {
    const deadline = Date.now() + POLL_LIMIT_MS;
    while (Date.now() < deadline) {
      let row;
      try { row = await newestRow(service); } catch (error) { await sleep(POLL_MS); continue; }
      if (!row || (before !== undefined && row.id <= before)) {
        tell(service, "Restart of " + service + ": the server did not answer, and no restart of it was recorded.", "bad");
        return;
      }
      showRow(row);
      if (row.status === "running") await followRow(row);
      return;
    }
    tell(service, "Restart of " + service + ": the server did not answer; see Recent restarts once it is back.", "bad");
  }

  async function restart(form) {
    const service = form.dataset.restart;
    tell(service, "Restarting " + service + "…", "info", true);
    const before = await newestRow(service).then(function (row) { return row ? row.id : 0; }, function () { return undefined; });
    let response = null, body = {};
    // The audit row is written before systemctl runs: Recent restarts shows it running
    // shortly after the request leaves, and is asked again while the answer is awaited.
    const showRunning = setTimeout(function () { fragments.refresh("restarts"); }, 400);
    const keepShowing = setInterval(function () { fragments.refresh("restarts"); }, 2000);
    try {
      response = await fetch(form.dataset.restartApi, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      });
      body = await response.json().catch(function () { return {}; });
    } catch (error) {
      response = null;
    }
    clearTimeout(showRunning);
    clearInterval(keepShowing);
    const audit = body.id ? " (audit #" + body.id + ")." : "";
    if (!response || (response.status >= 500 && !body.message)) {
      // No answer, or not the dashboard's (a proxy's error page): the audit row says what happened.
      tell(service, "Restart of " + service + ": no answer came; looking up what became of it…", "info", true);
      await lookUp(service, before);
    } else if (response.status === 409) {
      tell(service, "A restart of " + service + " is already pending or running (audit #" + body.existing_action_id + ").", "warn");
    } else if (body.message) {
      const running = response.status === 202 && body.status === "running";
      tell(service, body.message + audit, !body.success ? "bad" : response.status === 202 ? "info" : "ok", running);
      if (running) { fragments.refresh("restarts"); await followRow(body); }
    } else {
      tell(service, "Restart of " + service + " refused: " + (body.detail || response.statusText), "bad");
    }
    if (cardOutcomes[service]) { cardOutcomes[service].busy = false; drawCardOutcome(service); }
    fragments.refresh("services");
    fragments.refresh("restarts");
  }

  if (dialog) {
    dialog.addEventListener("close", function () {
      if (dialog.returnValue !== "confirm" || !pending) return;
      const form = pending;
      pending = null;
      restart(form);
    });
  }
}
