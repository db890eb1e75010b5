// The policy form: the DSA keyword picker offers only the keywords of the chosen category (and
// those tied to none); a keyword hidden by a change of category is unselected, so it is not sent.
(function () {
  "use strict";

  const category = document.querySelector("[data-keyword-category]");
  const keywords = document.querySelector("[data-keywords]");
  if (!category || !keywords) return;

  function narrow() {
    for (const option of keywords.options) {
      const fits = option.dataset.category === "" || option.dataset.category === category.value;
      option.hidden = !fits;
      if (!fits) option.selected = false;
    }
  }

  category.addEventListener("change", narrow);
  narrow();
})();
