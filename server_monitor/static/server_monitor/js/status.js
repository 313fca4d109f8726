/* wpdash status page: the entry module. Plain JavaScript modules, no build step. The page
 * works without them (links and forms); they only make it live. Each feature is a module
 * of its own: fragments.js (refresh, time range), restart.js (confirm, outcome),
 * approvals.js (approve, reject, withdraw), logs.js (the live log panel), sessions.js
 * (a session lasts while the page is used); every address
 * they use comes from the page's data- attributes. */
import { startApprovals } from "./approvals.js";
import { startFragments } from "./fragments.js";
import { startLogPanel } from "./logs.js";
import { startRestarts } from "./restart.js";
import { startStillHere } from "./sessions.js";

const page = document.querySelector("[data-status-page]");
if (page) {
  const fragments = startFragments(page);
  startRestarts(page, fragments);
  startApprovals(page, fragments);
  startLogPanel(page);
  startStillHere(page);
}
