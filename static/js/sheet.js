/* Seal an evaluator's score sheet in the browser (seal.js): every score is checked against
 * its criterion's range here, then the sheet — canonical JSON {"evaluator_id": seat,
 * "scores": {bid: {criterion: "decimal text"}}}, kind "sheet" — is sealed to the tender's
 * sheets box and only the envelope is posted. The score inputs have no name: no score ever
 * reaches the server in plaintext. There is no fallback without JavaScript. */
(function () {
  "use strict";
  const form = document.getElementById("sheet-form");
  if (!form || !window.CourtyardSeal || !window.crypto || !window.crypto.subtle) return;
  const S = window.CourtyardSeal;
  const errors = document.getElementById("sheet-errors");
  const button = document.getElementById("seal-sheet");
  const NUMBER = /^\d+(\.\d{1,2})?$/;

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  /** Exact comparison of decimal texts with at most two decimals (as hundredths). */
  function hundredths(text) {
    const parts = text.split(".");
    return Number(parts[0]) * 100 + Number(((parts[1] || "") + "00").slice(0, 2));
  }

  function check() {
    const scores = {};
    const problems = [];
    form.querySelectorAll("input.score").forEach(function (input) {
      const value = input.value.trim();
      const cell = input.getAttribute("aria-label");
      let problem = null;
      if (!value) problem = fill(form.dataset.msgMissing, { cell: cell });
      else if (!NUMBER.test(value)) problem = fill(form.dataset.msgNumber, { cell: cell });
      else if (hundredths(value) < hundredths(input.dataset.min)
               || hundredths(value) > hundredths(input.dataset.max)) {
        problem = fill(form.dataset.msgRange,
                       { cell: cell, low: input.dataset.min, high: input.dataset.max });
      }
      input.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) problems.push(problem);
      (scores[input.dataset.bid] = scores[input.dataset.bid] || {})[input.dataset.criterion] = value;
    });
    return { scores: scores, problems: problems };
  }

  function show(problems) {
    errors.replaceChildren(...problems.map(function (text) {
      const line = document.createElement("div");
      line.textContent = text;
      return line;
    }));
    errors.hidden = problems.length === 0;
  }

  button.disabled = false;
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const sheet = check();
    show(sheet.problems);
    if (sheet.problems.length) {
      form.querySelector("input.score[aria-invalid=true]").focus();
      return;
    }
    button.disabled = true;
    try {
      const text = S.canonicalJson({ evaluator_id: form.dataset.seat, scores: sheet.scores });
      const sealed = await S.seal(form.dataset.key, form.dataset.box, "sheet",
                                  new TextEncoder().encode(text));
      form.elements.sealed.value = S.b64encode(sealed);
      form.submit();
    } catch (err) {
      button.disabled = false;
      show([form.dataset.msgFailed]);
    }
  });
})();
