// Hiragana page: draw on the canvas (pointer events: mouse, pen, touch), send it as a PNG, show the top 5.
"use strict";

(() => {
  const pad = document.getElementById("pad");
  const predict = document.getElementById("predict");
  const clear = document.getElementById("clear");
  const predictions = document.getElementById("predictions");
  const context = pad.getContext("2d");
  let last = null;

  function blank() {
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, pad.width, pad.height);
    context.strokeStyle = "#000000";
    context.fillStyle = "#000000";
    context.lineWidth = Math.max(4, pad.width / 28);
    context.lineCap = "round";
    context.lineJoin = "round";
  }

  function at(event) {
    const box = pad.getBoundingClientRect();
    return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
  }

  function line(from, to) {
    context.beginPath();
    context.moveTo(from[0], from[1]);
    context.lineTo(to[0], to[1]);
    context.stroke();
  }

  pad.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    last = at(event);
    line(last, last);
  });
  pad.addEventListener("pointermove", (event) => {
    if (!last) return;
    event.preventDefault();
    const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const point of points.length ? points : [event]) {
      const next = at(point);
      line(last, next);
      last = next;
    }
  });
  for (const type of ["pointerup", "pointercancel"]) {
    pad.addEventListener(type, () => {
      last = null;
    });
  }

  clear.addEventListener("click", () => {
    blank();
    predictions.replaceChildren();
    predictions.removeAttribute("data-state");
  });

  function png() {
    return new Promise((resolve, reject) => {
      pad.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the drawing could not be exported"))),
        "image/png");
    });
  }

  predict.addEventListener("click", () => {
    neta.run(predict, predictions, async () => {
      const form = new FormData();
      form.append("image", await png(), "drawing.png");
      const body = await neta.post("/api/hiragana/predict", form);
      for (const guess of body.top5) {
        const item = neta.el("li", "prediction");
        const meter = neta.el("progress");
        meter.max = 1;
        meter.value = guess.p;
        item.append(neta.el("span", "char", guess.char), " ", neta.el("span", "p", (guess.p * 100).toFixed(2) + "%"),
          " ", meter);
        predictions.append(item);
      }
    });
  });

  blank();
})();
