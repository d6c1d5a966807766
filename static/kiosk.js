// The hall kiosk (server/kiosk.py, deploy/kiosk.md): after the idle time without input the
// visitor is logged out, while someone touches the screen the server is told so (its own
// idle limit is the same), and the browser's history is kept short, so the next visitor
// finds nothing of the previous one. Pages work without this file: the server ends an idle
// kiosk session anyway.
(() => {
  const body = document.body;
  const idle = Number(body.dataset.kioskIdle || 0);
  const inputs = ["pointerdown", "keydown", "touchstart", "wheel", "scroll", "input"];

  // A page brought back by Back from the browser's memory would show the previous visitor's data.
  window.addEventListener("pageshow", (e) => { if (e.persisted) location.reload(); });

  // After a logout the address bar keeps no «?ended=…».
  if (location.pathname === "/kiosk" && location.search.includes("ended=")) {
    history.replaceState(null, "", "/kiosk");
  }

  // Links replace the current page instead of adding to the history: after «Выход» there is
  // nothing for Back to go to. Downloads are refused: a file would stay on the kiosk's disk.
  document.addEventListener("click", (e) => {
    const a = e.target.closest ? e.target.closest("a[href]") : null;
    if (!a || e.defaultPrevented || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    e.preventDefault();
    if (a.hasAttribute("download") || url.pathname.startsWith("/diary/files/") || url.pathname.startsWith("/messages/files/")) {
      a.replaceWith(Object.assign(document.createElement("span"), {
        textContent: a.textContent + " — файлы открываются дома или на школьном компьютере",
        className: "muted",
      }));
      return;
    }
    location.replace(url.href);
  });

  // The login form forgets what was typed if the visitor walks away before logging in.
  const loginForm = document.querySelector("form[data-kiosk-login]");
  if (loginForm && idle) {
    let timer = null;
    const forget = () => {
      for (const field of loginForm.querySelectorAll("input:not([type=hidden])")) field.value = "";
      for (const note of document.querySelectorAll(".notice")) note.remove();
    };
    const restart = () => { clearTimeout(timer); timer = setTimeout(forget, idle * 1000); };
    for (const type of inputs) window.addEventListener(type, restart, { capture: true, passive: true });
    restart();
  }

  const logout = document.getElementById("kiosk-logout");
  if (!idle || !logout) return;
  const csrf = logout.querySelector("input[name=csrf_token]").value;
  const shown = document.querySelector("[data-kiosk-seconds]");
  let lastInput = Date.now();
  let lastPing = Date.now(); // loading this page was a request: the server's clock starts now too
  let pingTimer = null;
  let leaving = false;
  // Ping at most every few seconds, but always after the last input (trailing), so the server's
  // last request is never more than this behind the last touch.
  const pingEvery = Math.min(10, idle / 3) * 1000;

  function leave(reason) {
    if (leaving) return;
    leaving = true;
    logout.querySelector("input[name=reason]").value = reason;
    // Log out in the background, then replace this page: the diary page leaves no history entry.
    fetch(logout.action, { method: "POST", body: new FormData(logout), credentials: "same-origin", redirect: "manual" })
      .catch(() => {})
      .finally(() => location.replace("/kiosk?ended=" + (reason === "idle" ? "idle" : "1")));
  }

  function ping() {
    pingTimer = null;
    lastPing = Date.now();
    fetch("/kiosk/ping", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
      .then((r) => { if (r.status === 401 || r.status === 403) location.replace("/kiosk?ended=idle"); })
      .catch(() => {});
  }

  function activity() {
    if (leaving) return;
    lastInput = Date.now();
    if (pingTimer) return;
    const wait = lastPing + pingEvery - Date.now();
    if (wait <= 0) ping(); else pingTimer = setTimeout(ping, wait);
  }

  function tick() {
    const left = Math.max(0, Math.ceil(idle - (Date.now() - lastInput) / 1000));
    if (shown) shown.textContent = String(left);
    body.classList.toggle("kiosk-ending", left <= Math.min(15, idle / 2));
    if (left <= 0) leave("idle");
  }

  for (const type of inputs) window.addEventListener(type, activity, { capture: true, passive: true });
  logout.addEventListener("submit", (e) => { e.preventDefault(); leave(""); });
  setInterval(tick, 250);
  tick();
})();
