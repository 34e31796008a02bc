// Rate page: a photo and two bokes whose sources stay on the server; the choice goes back with the pair's token.
"use strict";

(() => {
  const pair = document.getElementById("pair");
  const photo = document.getElementById("rate-photo");
  const leftText = document.getElementById("left-text");
  const rightText = document.getElementById("right-text");
  const message = document.getElementById("rate-message");
  const counted = document.getElementById("rated-count");
  const skipped = document.getElementById("skipped-count");
  const buttons = Array.from(pair.querySelectorAll("button[data-choice]"));
  let token = null;  // the pair on screen; null while none can be judged
  let rated = 0;
  let skips = 0;

  function waiting(state) {
    for (const button of buttons) button.disabled = state !== "done";
    pair.setAttribute("data-state", state);
    if (state === "busy") pair.setAttribute("aria-busy", "true");
    else pair.removeAttribute("aria-busy");
  }

  function problem(text, retry) {
    const line = neta.el("p", "error", text);
    if (retry) {
      const again = neta.el("button", null, "Load another pair");
      again.type = "button";
      again.id = "rate-retry";
      again.addEventListener("click", () => next());
      line.append(" ", again);
    }
    message.replaceChildren(line);
  }

  async function next() {
    token = null;
    waiting("busy");
    try {
      const body = await neta.get("/api/rate/pair");
      photo.src = body.photo;
      leftText.textContent = body.left;
      rightText.textContent = body.right;
      token = body.token;
      waiting("done");
    } catch (error) {
      leftText.textContent = "";
      rightText.textContent = "";
      problem(error.message, true);
      waiting("error");
    }
  }

  async function choose(choice) {
    if (!token) return;
    const form = new FormData();
    form.append("token", token);
    form.append("choice", choice);
    token = null;  // one submit a pair, however fast the clicks come
    waiting("busy");
    message.replaceChildren();
    try {
      const body = await neta.post("/api/rate/judge", form);
      if (body.counted && choice === "skip") skips += 1;
      else if (body.counted) rated += 1;
      counted.textContent = String(rated);
      skipped.textContent = String(skips);
    } catch (error) {
      problem("not kept: " + error.message, false);
    }
    await next();
  }

  for (const button of buttons) {
    button.addEventListener("click", () => choose(button.getAttribute("data-choice")));
  }
  next();
})();
