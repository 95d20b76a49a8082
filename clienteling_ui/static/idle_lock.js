// The idle lock: after a while without a touch or key the floor is covered and the associate
// types their password again. The floor stays connected and live underneath, so unlocking
// shows the current state at once; the hub re-checks the password (POST /tablet/session/unlock).

const ACTIVITY_EVENTS = ["pointerdown", "keydown", "touchstart", "wheel"];

export function startIdleLock({ lockMs, overlay, form, problem, onLock, onUnlock }) {
  if (!overlay || !form || !(lockMs > 0)) return;
  const password = form.querySelector('input[name="password"]');
  let timer = 0;
  let previousFocus = null;

  const lock = () => {
    if (!overlay.hidden) return;
    previousFocus = document.activeElement;
    overlay.hidden = false;
    document.body.dataset.locked = "true";
    problem.textContent = "";
    password.value = "";
    password.focus();
    if (onLock) onLock();
  };

  const arm = () => {
    clearTimeout(timer);
    if (overlay.hidden) timer = setTimeout(lock, lockMs);
  };

  const unlock = () => {
    overlay.hidden = true;
    delete document.body.dataset.locked;
    if (previousFocus && previousFocus.focus) previousFocus.focus();
    if (onUnlock) onUnlock();
    arm();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    let response;
    try {
      response = await fetch("session/unlock", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ password: password.value }),
      });
    } catch {
      problem.textContent = "Cannot reach the hub; try again.";
      return;
    }
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      unlock();
    } else if (answer.error && answer.error.code === "wrong_password") {
      problem.textContent = "Wrong password; try again.";
      password.select();
    } else {
      // Signed out meanwhile (or the session expired): the sign-in page takes over.
      window.location.assign("sign-in");
    }
  });

  // Focus stays in the dialog while locked, for keyboard users.
  overlay.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {
      const targets = [...overlay.querySelectorAll("input, button")];
      const first = targets[0];
      const last = targets[targets.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  for (const name of ACTIVITY_EVENTS) {
    document.addEventListener(name, arm, { passive: true, capture: true });
  }
  arm();
}
