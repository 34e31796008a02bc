// neta: helpers shared by the pages. Text from the server is only ever inserted with textContent.
"use strict";

const neta = {
  // POST a FormData; the JSON answer, or an Error carrying the server's message.
  async post(url, form) {
    return neta.ask(url, { method: "POST", body: form });
  },

  // GET, never from the browser's cache; the JSON answer, or an Error carrying the server's message.
  async get(url) {
    return neta.ask(url, { cache: "no-store" });
  },

  async ask(url, init) {
    let response;
    try {
      response = await fetch(url, { ...init, headers: { Accept: "application/json" } });
    } catch (error) {
      throw new Error("the server does not answer (" + error.message + ")");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error ? body.error : "HTTP " + response.status;
      throw new Error(body && body.command ? message + " — " + body.command : message);
    }
    return body;
  },

  // A new element with a class and a text (as text, never as markup).
  el(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  },

  // Run work() with the button disabled; the container ends with data-state="done" or "error".
  async run(button, container, work) {
    button.disabled = true;
    container.setAttribute("data-state", "busy");
    container.setAttribute("aria-busy", "true");
    container.replaceChildren();
    try {
      await work();
      container.setAttribute("data-state", "done");
    } catch (error) {
      container.replaceChildren(neta.el("p", "error", error.message));
      container.setAttribute("data-state", "error");
    } finally {
      container.removeAttribute("aria-busy");
      button.disabled = false;
    }
  },
};
