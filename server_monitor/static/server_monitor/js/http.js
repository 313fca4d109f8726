/* What every feature of the page shares: the CSRF token, JSON reads, a pause, and the
 * page-level message region (a live region: screen readers hear each outcome). */

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function sleep(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

export async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } });
  if (!response.ok) throw new Error(response.status + " " + response.statusText);
  return response.json();
}

export function announce(message, kind) {
  const region = document.getElementById("action-result");
  if (!region) return;
  region.textContent = message;
  region.className = "banner " + (kind || "info");
  region.hidden = false;
}

/* A signed-out answer to a fetch (the server's redirect to the sign-in page, which says
 * whether the session expired) is followed by the whole tab, back to this page after. */
let leaving = false; // several fetches can learn it at once: navigate once
export function toSignIn(response) {
  if (leaving) return;
  leaving = true;
  const target = new URL(response.url, window.location.href);
  target.searchParams.set("next", window.location.pathname + window.location.search);
  window.location.assign(target.href);
}
