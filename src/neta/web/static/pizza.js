// Pizza page: the ticked ingredients -> one image from each generator.
"use strict";

(() => {
  const recipe = document.getElementById("recipe");
  const generate = document.getElementById("generate-pizza");
  const pizzas = document.getElementById("pizzas");

  recipe.addEventListener("submit", (event) => event.preventDefault());

  generate.addEventListener("click", () => {
    neta.run(generate, pizzas, async () => {
      const form = new FormData();
      for (const box of recipe.querySelectorAll("input[type=checkbox][name=ingredient]:checked")) {
        form.append("ingredient", box.value);
      }
      const body = await neta.post("/api/pizza/generate", form);
      for (const made of body.images) {
        const figure = neta.el("figure");
        const image = neta.el("img", "pizza");
        image.alt = made.label + ": " + body.ingredients.join(", ");
        image.src = made.png;
        const caption = made.label + " (" + made.model + ")" +
          (made.conditioned ? "" : " — unconditioned: it ignores the recipe");
        figure.append(image, neta.el("figcaption", null, caption));
        pizzas.append(figure);
      }
    });
  });
})();
