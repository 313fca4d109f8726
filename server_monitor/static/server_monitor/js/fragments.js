/* The page's server-rendered fragments (alerts, metrics, sites, services, restarts), each
 * refreshed every 10 s from its own data-url. Fragments are rendered by the server, so
 * sparklines are drawn in one place only.
 *
 * Tabs of one browser share the refresh: the tab holding the "wpdash-refresh" lock
 * (Web Locks; a visible tab) asks the server, and every tab that fetches a fragment
 * hands it to the others over a BroadcastChannel. A tab that has heard nothing fresh
 * for a tick and a half (no leader, a range of its own, an old browser) asks itself,
 * so ten open tabs cost the server what one does (docs/architecture.md says why this
 * earns its lines next to plain visibility-based polling). */

import { toSignIn } from "./http.js";

const REFRESH_MS = 10000;
const RANGED = ["metrics", "sites"]; // fragments drawn for the page's time range

function ranged(name) { return RANGED.indexOf(name) >= 0; }

export function startFragments(page) {
  const sections = Array.from(page.querySelectorAll("[data-fragment]"));
  const names = sections.map(function (section) { return section.dataset.fragment; });
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("wpdash-fragments") : null;
  const heardAt = {}; // fragment key -> Date.now() of the newest copy shown
  let range = page.dataset.range || "5m";
  let leading = false;
  let stopSeeking = null; // ends this tab's hold on the lock, or its wait for it

  function fragmentKey(name, forRange) { return ranged(name) ? name + ":" + forRange : name; }
  function sectionOf(name) { return page.querySelector('[data-fragment="' + name + '"]'); }

  function show(name, html) {
    const section = sectionOf(name);
    if (!section) return;
    section.innerHTML = html;
    heardAt[fragmentKey(name, range)] = Date.now();
    page.dispatchEvent(new CustomEvent("fragment-shown", { detail: { name: name } }));
  }

  async function refresh(name) {
    const section = sectionOf(name);
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
      if (names.indexOf(copy.name) < 0 || typeof copy.html !== "string") return;
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
    names.forEach(function (name) {
      if (leading || !channel || (heardAt[fragmentKey(name, range)] || 0) < stale) refresh(name);
    });
  }
  names.forEach(function (name) { heardAt[fragmentKey(name, range)] = Date.now(); }); // as the server rendered them
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

  // The 5m/1h/24h switch redraws the ranged fragments without a reload.
  page.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-range]");
    if (!link) return;
    event.preventDefault();
    range = link.dataset.range;
    page.dataset.range = range;
    page.querySelectorAll("a[data-range]").forEach(function (other) {
      other.setAttribute("aria-current", other === link ? "true" : "false");
    });
    history.replaceState(null, "", "?range=" + encodeURIComponent(range));
    RANGED.forEach(refresh);
  });

  return { refresh: refresh };
}
