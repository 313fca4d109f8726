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
    announce(row.message + " (audit #" + row.id + ").", kind);
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
      announce("Restart of " + row.service + " is still running (audit #" + row.id + "); Recent restarts will show how it ends.", "info");
    } else {
      // The proxy restarted never came back (a broken config stops it for good): say so, not "failed".
      announce("Restart of " + row.service + " (audit #" + row.id + "): the dashboard has not been reachable since; "
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
        announce("Restart of " + service + ": the server did not answer, and no restart of it was recorded.", "bad");
        return;
      }
      showRow(row);
      if (row.status === "running") await followRow(row);
      return;
    }
    announce("Restart of " + service + ": the server did not answer; see Recent restarts once it is back.", "bad");
  }

  async function restart(form) {
    const service = form.dataset.restart;
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; button.textContent = "Restarting…"; });
    announce("Restarting " + service + "…", "info");
    const before = await newestRow(service).then(function (row) { return row ? row.id : 0; }, function () { return undefined; });
    let response = null, body = {};
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
    const audit = body.id ? " (audit #" + body.id + ")." : "";
    if (!response || (response.status >= 500 && !body.message)) {
      // No answer, or not the dashboard's (a proxy's error page): the audit row says what happened.
      announce("Restart of " + service + ": no answer came; looking up what became of it…", "info");
      await lookUp(service, before);
    } else if (response.status === 409) {
      announce("A restart of " + service + " is already pending or running (audit #" + body.existing_action_id + ").", "warn");
    } else if (body.message) {
      announce(body.message + audit, !body.success ? "bad" : response.status === 202 ? "info" : "ok");
      if (response.status === 202 && body.status === "running") await followRow(body);
    } else {
      announce("Restart of " + service + " refused: " + (body.detail || response.statusText), "bad");
    }
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
