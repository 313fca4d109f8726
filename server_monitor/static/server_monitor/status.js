/* wpdash status page: live refresh, restart confirmation and the live log panel.
 * Plain JavaScript, no build step. The page works without it (links and forms);
 * this only makes it live. Fragments are rendered by the server, so sparklines
 * are drawn in one place only. */
(function () {
  "use strict";

  const REFRESH_MS = 10000;
  const MAX_LOG_LINES = 2000;
  const page = document.querySelector("[data-status-page]");
  if (!page) return;

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

  /* A restart's progress and outcome on the card acted on, where the eye is (on a phone the
   * page-level region is off screen; it stays, for screen readers). Kept per service, since
   * the services fragment is redrawn every refresh. */
  const cardOutcomes = {}; // service -> {text, kind, busy}

  function drawCardOutcome(service) {
    const state = cardOutcomes[service];
    const card = document.querySelector('[data-fragment="services"] [data-service="' + CSS.escape(service) + '"]');
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

  // Says an outcome twice: on the card (seen) and in #action-result (heard).
  function tell(service, message, kind, busy) {
    cardOutcomes[service] = { text: message, kind: kind || "info", busy: !!busy };
    drawCardOutcome(service);
    announce(message, kind);
  }

  /* A signed-out answer to a fetch (the server's redirect to the sign-in page, which says
   * whether the session expired) is followed by the whole tab, back to this page after. */
  let leaving = false; // several fetches can learn it at once: navigate once
  function toSignIn(response) {
    if (leaving) return;
    leaving = true;
    const target = new URL(response.url, window.location.href);
    target.searchParams.set("next", window.location.pathname + window.location.search);
    window.location.assign(target.href);
  }

  /* ---- fragments: alerts, metrics, services, restarts --------------------- */
  /* Tabs of one browser share the refresh: the tab holding the "wpdash-refresh" lock
   * (Web Locks; a visible tab) asks the server, and every tab that fetches a fragment
   * hands it to the others over a BroadcastChannel. A tab that has heard nothing fresh
   * for a tick and a half (no leader, a range of its own, an old browser) asks itself,
   * so ten open tabs cost the server what one does. */
  let range = page.dataset.range || "5m";
  const FRAGMENTS = ["alerts", "metrics", "sites", "services", "restarts"];
  const RANGED = ["metrics", "sites"]; // fragments drawn for the page's time range
  function ranged(name) { return RANGED.indexOf(name) >= 0; }
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("wpdash-fragments") : null;
  const heardAt = {}; // fragment key -> Date.now() of the newest copy shown
  let leading = false;
  let stopSeeking = null; // ends this tab's hold on the lock, or its wait for it

  function fragmentKey(name, forRange) { return ranged(name) ? name + ":" + forRange : name; }

  function show(name, html) {
    const section = document.querySelector('[data-fragment="' + name + '"]');
    if (!section) return;
    section.innerHTML = html;
    heardAt[fragmentKey(name, range)] = Date.now();
    if (name === "services") Object.keys(cardOutcomes).forEach(drawCardOutcome);
  }

  async function refresh(name) {
    const section = document.querySelector('[data-fragment="' + name + '"]');
    if (!section) return;
    const asked = range;
    const url = section.dataset.url + (ranged(name) ? "?range=" + encodeURIComponent(asked) : "");
    try {
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" });
      if (response.redirected) { toSignIn(response); return; } // the session ended
      if (response.status === 401 || response.status === 403) {
        window.location.reload(); // signed out elsewhere: let the server send us to the login page
        return;
      }
      if (!response.ok) return;
      const html = await response.text();
      if (ranged(name) && asked !== range) return; // the range changed while it was on its way
      show(name, html);
      if (channel) channel.postMessage({ name: name, range: asked, html: html });
    } catch (error) {
      /* offline for a moment: keep what is shown, try again next tick */
    }
  }

  if (channel) {
    channel.addEventListener("message", function (event) {
      const copy = event.data || {};
      if (FRAGMENTS.indexOf(copy.name) < 0 || typeof copy.html !== "string") return;
      if (ranged(copy.name) && copy.range !== range) return;
      show(copy.name, copy.html);
    });
  }

  function seekLead() {
    if (!channel || !navigator.locks || stopSeeking || document.hidden) return;
    const waiting = new AbortController();
    let release = null;
    stopSeeking = function () { waiting.abort(); if (release) release(); };
    navigator.locks.request("wpdash-refresh", { signal: waiting.signal }, function () {
      leading = true; // from the next tick on
      return new Promise(function (resolve) { release = resolve; });
    }).catch(function () { /* aborted while waiting */ }).finally(function () {
      leading = false;
      stopSeeking = null;
    });
  }

  function refreshAll() {
    if (document.hidden) return; // no load while the tab is in the background
    const stale = Date.now() - REFRESH_MS * 1.5;
    FRAGMENTS.forEach(function (name) {
      if (leading || !channel || (heardAt[fragmentKey(name, range)] || 0) < stale) refresh(name);
    });
  }
  FRAGMENTS.forEach(function (name) { heardAt[fragmentKey(name, range)] = Date.now(); }); // as the server rendered them
  setInterval(refreshAll, REFRESH_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (stopSeeking) stopSeeking(); // a hidden tab does not refresh, so it hands the lead on
    } else {
      refreshAll();
      seekLead();
    }
  });
  seekLead();

  page.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-range]");
    if (!link) return;
    event.preventDefault();
    range = link.dataset.range;
    page.dataset.range = range;
    document.querySelectorAll("a[data-range]").forEach(function (other) {
      other.setAttribute("aria-current", other === link ? "true" : "false");
    });
    history.replaceState(null, "", "?range=" + encodeURIComponent(range));
    RANGED.forEach(refresh);
  });

  /* ---- restart with confirmation ------------------------------------------ */
  const dialog = document.getElementById("restart-dialog");
  let pendingService = null;

  page.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-restart]");
    if (!form || !dialog || typeof dialog.showModal !== "function") return; // no dialog: the confirm page works
    event.preventDefault();
    pendingService = form.dataset.restart;
    dialog.querySelector("[data-service-name]").textContent = pendingService;
    dialog.showModal();
  });

  /* A restart's outcome is in its audit row. The page reads the row when the answer says the
   * restart runs in the background (202 with a running row: the proxy in front restarts), and
   * when no answer comes at all (the connection broke, or a proxy answered instead of the
   * dashboard), so a restart that worked is never shown as failed. */
  const POLL_MS = 1000;
  const POLL_LIMIT_MS = 120000; // systemctl's 30 s, a proxy's graceful stop, the settle time, and room

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (!response.ok) throw new Error(response.status + " " + response.statusText);
    return response.json();
  }

  async function newestRow(service) {
    const body = await getJson("/api/v1/server/restarts?service=" + encodeURIComponent(service));
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
      try { row = await getJson("/api/v1/server/restarts/" + row.id); reached = true; } catch (error) { reached = false; }
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
      if (row.status === "running") { showRow(row); await followRow(row); } else { showRow(row); }
      return;
    }
    tell(service, "Restart of " + service + ": the server did not answer; see Recent restarts once it is back.", "bad");
  }

  if (dialog) {
    dialog.addEventListener("close", async function () {
      if (dialog.returnValue !== "confirm" || !pendingService) return;
      const service = pendingService;
      pendingService = null;
      tell(service, "Restarting " + service + "…", "info", true);
      const before = await newestRow(service).then(function (row) { return row ? row.id : 0; }, function () { return undefined; });
      let response = null, body = {};
      // The audit row is written before systemctl runs: Recent restarts shows it running
      // shortly after the request leaves, and is asked again while the answer is awaited.
      const showRunning = setTimeout(function () { refresh("restarts"); }, 400);
      const keepShowing = setInterval(function () { refresh("restarts"); }, 2000);
      try {
        response = await fetch("/api/v1/server/services/" + encodeURIComponent(service) + "/restart", {
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
      // The server words every outcome ({success, message}); the page only adds the audit number.
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
        if (running) { refresh("restarts"); await followRow(body); }
      } else {
        tell(service, "Restart of " + service + " refused: " + (body.detail || response.statusText), "bad");
      }
      if (cardOutcomes[service]) { cardOutcomes[service].busy = false; drawCardOutcome(service); }
      refresh("services");
      refresh("restarts");
    });
  }

  /* ---- still here: a session lasts while its person uses the page ------------ */
  /* The background refresh does not keep a session alive (a tab left alone expires, see
   * server_monitor/web/sessions.py); typing, clicking and scrolling here do, told to the
   * server at most once a minute. */
  const STILL_HERE_MS = 60000;
  const stillHereUrl = page.dataset.stillHereUrl;
  let saidAt = Date.now(); // the page's own load counted as activity

  async function stillHere() {
    if (!stillHereUrl || Date.now() - saidAt < STILL_HERE_MS) return;
    saidAt = Date.now();
    try {
      const response = await fetch(stillHereUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() } });
      if (response.redirected) toSignIn(response); // it had ended already
    } catch (error) { /* offline: the next input tries again */ }
  }
  ["keydown", "pointerdown", "wheel", "touchstart", "scroll"].forEach(function (type) {
    window.addEventListener(type, stillHere, { passive: true, capture: true });
  });

  /* ---- live log panel ------------------------------------------------------- */
  const logPanel = document.querySelector("[data-log-panel]");
  if (!logPanel) return;
  const picker = logPanel.querySelector("select[name=log]");
  const output = logPanel.querySelector("[data-log-lines]");
  const status = logPanel.querySelector("[data-log-status]");
  const counter = logPanel.querySelector("[data-log-count]");
  const pauseButton = logPanel.querySelector("[data-log-pause]");
  const followBox = logPanel.querySelector("input[name=follow]");
  const banner = logPanel.querySelector("[data-log-banner]");
  const filterBox = logPanel.querySelector("[data-log-filter]");
  const noMatch = logPanel.querySelector("[data-log-empty]");
  let logAvailable = !(banner && !banner.hidden);
  let searching = false; // a filter's history is on its way: not yet "no line matches"
  let filterText = filterBox.value;
  let filterTimer = null;
  let socket = null;
  let paused = false;
  let received = 0;
  let retryMs = 1000;
  let reconnectTimer = null;
  let wanted = true;

  function setStatus(text) { status.textContent = text; }

  // The banner, the picker's mark and the lines box always describe the log shown.
  function showAvailability(available, reason) {
    logAvailable = available;
    banner.hidden = available;
    banner.textContent = available ? "" : reason;
    output.hidden = !available && !output.textContent;
    showNoMatch();
    const option = picker.selectedOptions[0];
    if (option && !available) {
      // The address names the log, so a reload keeps it with its banner instead of
      // showing the first readable one in its place.
      const here = new URL(window.location.href);
      if (here.searchParams.get("log") !== option.value) { here.searchParams.set("log", option.value); history.replaceState(null, "", here); }
    }
    if (option) {
      option.dataset.available = available ? "true" : "false";
      option.textContent = option.value + (available ? "" : " (unavailable)");
    }
  }

  function nearBottom() { return output.scrollHeight - output.scrollTop - output.clientHeight < 24; }

  // The server sends a filtering client only matching lines; the same test here covers
  // the lines already shown and those sent before the server had the filter.
  function matches(line) { return !filterText || line.toLowerCase().includes(filterText.toLowerCase()); }

  // A filter that matches nothing says so, instead of an empty box.
  function showNoMatch() {
    if (!noMatch) return;
    if (searching) { noMatch.hidden = true; return; } // its answer decides
    const none = !!filterText && !searching && logAvailable && !output.textContent;
    noMatch.textContent = "No line matches \u201c" + filterText + "\u201d.";
    noMatch.hidden = !none;
    if (none) output.hidden = true;
    else if (logAvailable || output.textContent) output.hidden = false;
  }

  // One line as a <span>: its text in text nodes, each match of the filter in a <mark>
  // (never HTML parsed from a log line).
  function lineElement(line) {
    const element = document.createElement("span");
    const needle = filterText.toLowerCase();
    const folded = line.toLowerCase();
    // Lower-casing can change a string's length (rare letters): then no highlight, never a wrong one.
    if (!needle || folded.length !== line.length) { element.textContent = line; return element; }
    let from = 0, at = folded.indexOf(needle);
    while (at >= 0) {
      if (at > from) element.append(document.createTextNode(line.slice(from, at)));
      const mark = document.createElement("mark");
      mark.textContent = line.slice(at, at + needle.length);
      element.append(mark);
      from = at + needle.length;
      at = folded.indexOf(needle, from);
    }
    if (from < line.length) element.append(document.createTextNode(line.slice(from)));
    return element;
  }

  function appendLines(lines) {
    lines = lines.filter(matches);
    if (!lines.length) { showNoMatch(); return; }
    const stick = followBox.checked && nearBottom();
    if (output.firstChild && output.firstChild.nodeType === Node.TEXT_NODE && !output.querySelector("span")) {
      output.textContent = ""; // the server-rendered lines, replaced by the first message anyway
    }
    const chunk = document.createDocumentFragment();
    lines.forEach(function (line) {
      if (output.lastChild || chunk.lastChild) chunk.append(document.createTextNode("\n"));
      chunk.append(lineElement(line));
    });
    output.append(chunk);
    received += lines.length;
    counter.textContent = received.toLocaleString() + " lines";
    // Bound the DOM: keep the last MAX_LOG_LINES lines (each a span and the line break after it).
    let excess = output.childElementCount - MAX_LOG_LINES;
    while (excess-- > 0) {
      output.firstElementChild.remove();
      if (output.firstChild && output.firstChild.nodeType === Node.TEXT_NODE) output.firstChild.remove();
    }
    showNoMatch();
    if (stick) output.scrollTop = output.scrollHeight;
  }

  // Following stops when the reader scrolls up, and resumes when they scroll back down.
  output.addEventListener("scroll", function () { followBox.checked = nearBottom(); });
  followBox.addEventListener("change", function () { if (followBox.checked) output.scrollTop = output.scrollHeight; });

  function connect() {
    clearTimeout(reconnectTimer);
    if (socket) { socket.onclose = null; socket.close(); }
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const url = scheme + window.location.host + "/api/v1/server/logs/" + encodeURIComponent(picker.value) + "/ws";
    socket = new WebSocket(url);
    setStatus("Connecting…");
    let first = true;
    socket.onopen = function () {
      retryMs = 1000; setStatus(paused ? "Paused" : "Live");
      if (paused) send("pause");
      if (filterText) sendJson({ action: "filter", q: filterText });
    };
    socket.onmessage = function (event) {
      let message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (first && Array.isArray(message.lines)) {
        // The first message is the last lines of the log: replace what the server rendered.
        first = false; output.textContent = ""; received = 0;
        showAvailability(message.available !== false, message.reason || "This log cannot be read.");
        if (message.available === false) setStatus("Not available");
        if (filterText) { loadMatches(); return; } // history from a search, not from the last 50 lines
      } else if (Array.isArray(message.lines) && message.lines.length) {
        showAvailability(true, ""); // the log appeared (or became readable) since
      }
      if (Array.isArray(message.lines)) appendLines(message.lines);
      if (message.skipped) appendLines(["… " + message.skipped + " lines skipped …"]);
      if (typeof message.filter === "string") setStatus(paused ? "Paused" : message.filter ? "Live, filtered" : "Live");
      if (message.error) setStatus(message.error);
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4001) { setStatus("Signed out: reload the page to sign in."); return; }
      if (event.code === 4000) { setStatus("This log is not configured."); return; }
      if (!wanted) return;
      setStatus("Disconnected; retrying in " + Math.round(retryMs / 1000) + " s…");
      reconnectTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  function sendJson(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function send(action) { sendJson({ action: action }); }

  // The last matching lines of the whole log (REST search), shown before the live ones.
  async function loadMatches() {
    const wanted = filterText, log = picker.value;
    searching = true; showNoMatch();
    const url = "/api/v1/server/logs/" + encodeURIComponent(log) + "?lines=200&q=" + encodeURIComponent(wanted);
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
      const body = await response.json();
      if (wanted !== filterText || log !== picker.value || !Array.isArray(body.lines)) return;
      const live = output.textContent; // lines that arrived meanwhile come after the history
      output.textContent = ""; received = 0;
      searching = false;
      appendLines(body.lines);
      if (live) appendLines(live.split("\n"));
    } catch (error) { /* the live lines still come */ }
    if (wanted === filterText) { searching = false; showNoMatch(); }
  }

  function setFilter() {
    clearTimeout(filterTimer);
    const next = filterBox.value;
    if (next === filterText) return;
    filterText = next;
    const url = new URL(window.location.href);
    if (next) url.searchParams.set("q", next); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
    output.textContent = ""; received = 0; counter.textContent = "0 lines";
    if (!next) { showNoMatch(); connect(); return; } // cleared: the last lines again, unfiltered
    sendJson({ action: "filter", q: next });
    loadMatches();
  }

  filterBox.addEventListener("input", function () { clearTimeout(filterTimer); filterTimer = setTimeout(setFilter, 300); });
  filterBox.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); setFilter(); }
    if (event.key === "Escape") { filterBox.value = ""; setFilter(); }
  });

  pauseButton.addEventListener("click", function () {
    paused = !paused;
    pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
    pauseButton.textContent = paused ? "Resume" : "Pause";
    send(paused ? "pause" : "resume");
    setStatus(paused ? "Paused" : "Live");
  });

  picker.addEventListener("change", function () {
    const url = new URL(window.location.href);
    url.searchParams.set("log", picker.value);
    history.replaceState(null, "", url);
    output.textContent = ""; received = 0; counter.textContent = "0 lines";
    banner.hidden = true; banner.textContent = ""; // until the new log's first message says otherwise
    connect();
  });

  // A service card's "Logs" link opens that unit's journal here, without a reload.
  page.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-log-link]");
    if (!link) return;
    const option = Array.from(picker.options).find(function (item) { return item.value === link.dataset.logLink; });
    if (!option) return; // not listed (yet): the link's own page load shows it
    event.preventDefault();
    picker.value = option.value;
    picker.dispatchEvent(new Event("change"));
    logPanel.scrollIntoView({ block: "start" });
    output.focus();
  });

  window.addEventListener("beforeunload", function () { wanted = false; });
  logPanel.querySelector("[data-live-controls]").hidden = false;
  connect();
})();
