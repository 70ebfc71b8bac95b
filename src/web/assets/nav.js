/* nav.js: moving between rooms without a reload: go(url), and what a
 * room does when it is left. */
const main = () => document.getElementById('main');
let leaveRoom = null;   /* stops the current room's timers and charts */
let router = null;

/* The room being left runs fn (its timers and charts stop). */
function onLeave(fn) { leaveRoom = fn; }
function leave() { if (leaveRoom) { leaveRoom(); leaveRoom = null; } }
function setRouter(fn) { router = fn; }

function go(url) {
  history.pushState(null, '', url);
  router();
}

export { go, leave, main, onLeave, setRouter };
