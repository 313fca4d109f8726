/* The live log panel: the picked log's last lines, then its new lines over a WebSocket,
 * with a filter (the server sends a filtering client only matching lines), pause, follow,
 * and the log's availability (deleted, unreadable, back) as the server reports it. */

const MAX_LOG_LINES = 2000;

export function startLogPanel(page) {
  const logPanel = page.querySelector("[data-log-panel]");
  if (!logPanel) return;
  const logsApi = logPanel.dataset.logsApi; // the log API's address; a log's is logsApi + "/" + its name
  const socketPath = logPanel.dataset.logSocket; // the live tail's path, with {name} for the log's
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
    const none = !!filterText && logAvailable && !output.textContent;
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
    const url = scheme + window.location.host + socketPath.replace("{name}", encodeURIComponent(picker.value));
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
    const url = logsApi + "/" + encodeURIComponent(log) + "?lines=200&q=" + encodeURIComponent(wanted);
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
}
