/* Still here: a session lasts while its person uses the page. The background refresh does
 * not keep a session alive (a tab left alone expires, see server_monitor/web/sessions.py);
 * typing, clicking and scrolling here do, told to the server at most once a minute. */
import { csrfToken, toSignIn } from "./http.js";

const STILL_HERE_MS = 60000;

export function startStillHere(page) {
  const stillHereUrl = page.dataset.stillHereUrl;
  if (!stillHereUrl) return;
  let saidAt = Date.now(); // the page's own load counted as activity

  async function stillHere() {
    if (Date.now() - saidAt < STILL_HERE_MS) return;
    saidAt = Date.now();
    try {
      const response = await fetch(stillHereUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() } });
      if (response.redirected) toSignIn(response); // it had ended already
    } catch (error) { /* offline: the next input tries again */ }
  }
  ["keydown", "pointerdown", "wheel", "touchstart", "scroll"].forEach(function (type) {
    window.addEventListener(type, stillHere, { passive: true, capture: true });
  });
}
