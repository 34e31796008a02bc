// Boke page: pick or upload a photo, Generate the model's bokes, score your own.
"use strict";

(() => {
  const select = document.getElementById("photo");
  const upload = document.getElementById("upload");
  const preview = document.getElementById("photo-preview");
  const generate = document.getElementById("generate");
  const again = document.getElementById("generate-again");
  let draws = 0;  // each Generate again draws with the next seed
  const bokes = document.getElementById("bokes");
  const real = document.getElementById("real-bokes");
  const own = document.getElementById("own-boke");
  const scoreOwn = document.getElementById("score-own");
  const ownResult = document.getElementById("own-result");
  let uploadUrl = null;

  function forgetUpload() {
    if (uploadUrl) URL.revokeObjectURL(uploadUrl);
    uploadUrl = null;
  }

  function showSelected() {
    forgetUpload();
    if (select.value) preview.src = "/photos/" + encodeURIComponent(select.value);
  }

  select.addEventListener("change", () => {
    upload.value = "";
    showSelected();
  });

  upload.addEventListener("change", () => {
    if (upload.files.length) {
      forgetUpload();
      uploadUrl = URL.createObjectURL(upload.files[0]);
      preview.src = uploadUrl;
    } else {
      showSelected();
    }
  });

  // The photo of the request: the uploaded file if one is chosen, else the photo of the list.
  function photoForm() {
    const form = new FormData();
    if (upload.files.length) form.append("photo", upload.files[0]);
    else form.append("image_id", select.value);
    return form;
  }

  function score(value) {
    return Number(value).toFixed(3);
  }

  function showBokes(found) {
    for (const boke of found) {
      const item = neta.el("li", "boke");
      // A caption of no tokens (<eos> first) is a real beam result: shown, not left blank.
      const text = boke.text ? neta.el("span", "text", boke.text) : neta.el("span", "text empty", "(empty: <eos> first)");
      item.append(text, " ", neta.el("span", "score", score(boke.score)));
      // A word-for-word training boke is retrieved, not written: the page says which.
      if (boke.copied) item.append(" ", neta.el("span", "mark copied", "a training boke"));
      if (!boke.complete) item.append(" ", neta.el("span", "mark incomplete", "incomplete"));
      item.title = "log-probability " + score(boke.logprob) + " in total";
      bokes.append(item);
    }
  }

  generate.addEventListener("click", () => {
    real.replaceChildren();
    neta.run(generate, bokes, async () => {
      const body = await neta.post("/api/boke/generate", photoForm());
      showBokes(body.bokes);
      if (!body.real.length) {
        real.append(neta.el("li", "none", body.image_id ? "(no bokes)" : "(an uploaded photo has no real bokes)"));
      }
      for (const boke of body.real) {
        const item = neta.el("li");
        item.append(neta.el("span", "text", boke.text), " ", neta.el("span", "stars", "★" + boke.stars));
        real.append(item);
      }
      if (body.real_total > body.real.length) {
        real.append(neta.el("li", "none", "… and " + (body.real_total - body.real.length) + " more"));
      }
    });
  });

  again.addEventListener("click", () => {
    neta.run(again, bokes, async () => {
      const form = photoForm();
      draws += 1;
      form.append("seed", String(draws));
      const body = await neta.post("/api/boke/sample", form);
      showBokes(body.bokes);
    });
  });

  scoreOwn.addEventListener("click", () => {
    neta.run(scoreOwn, ownResult, async () => {
      const form = photoForm();
      form.append("text", own.value);
      const body = await neta.post("/api/boke/score", form);
      const quote = neta.el("p", "text", body.text);
      const figures = neta.el("p", "figures");
      figures.append("score ", neta.el("span", "score", score(body.score)),
        " a token (" + score(body.logprob) + " in total over " + (body.tokens.length + 1) + " tokens with <eos>)");
      const words = neta.el("p", "tokens", "as the model reads it: " + body.tokens.join(" | "));
      ownResult.append(quote, figures, words);
      if (body.unknown.length) {
        ownResult.append(neta.el("p", "note", "words it never saw (<unk>): " + body.unknown.join(", ")));
      }
    });
  });
})();
