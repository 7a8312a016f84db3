/* Seal a tender bid in the browser: the price, the text and the attached files (PDF, PNG,
 * JPEG; count and sizes checked here first, with the page's messages) become one sealed
 * envelope — canonical JSON {"documents": …, "files": [{"name", "type", "data": base64}],
 * "price": …}, kind "bid" — and only the envelope is posted. Without WebCrypto X25519 the
 * form posts as it is and the server seals the bid (and marks it so). */
(function () {
  "use strict";
  const form = document.getElementById("bid-form");
  if (!form || !window.CourtyardSeal) return;
  const S = window.CourtyardSeal;
  const errors = document.getElementById("bid-errors");
  const TYPES = ["application/pdf", "image/png", "image/jpeg"];

  function fill(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, key) { return values[key]; });
  }

  function show(problems) {
    errors.replaceChildren(...problems.map(function (text) {
      const line = document.createElement("div");
      line.textContent = text;
      return line;
    }));
    errors.hidden = problems.length === 0;
  }

  function problemsOf(price, files) {
    const d = form.dataset;
    const out = [];
    if (!/^\d+(\.\d{1,2})?$/.test(price) || Number(price) <= 0) out.push(d.msgPrice);
    if (files.length > Number(d.maxFiles)) out.push(d.msgCount);
    let total = 0;
    files.forEach(function (file) {
      total += file.size;
      if (TYPES.indexOf(file.type) < 0) out.push(fill(d.msgType, { name: file.name }));
      else if (file.size > Number(d.maxFile)) out.push(fill(d.msgSize, { name: file.name }));
    });
    if (total > Number(d.maxTotal)) out.push(d.msgTotal);
    return out;
  }

  async function encoded(file) {
    return { name: file.name, type: file.type,
             data: S.b64encode(new Uint8Array(await file.arrayBuffer())) };
  }

  form.addEventListener("submit", async function (event) {
    if (form.dataset.sealedOnce) return;
    event.preventDefault();
    const price = form.elements.price.value.trim();
    const documents = form.elements.documents.value.trim();
    const files = Array.from(form.elements.files.files);
    const problems = problemsOf(price, files);
    show(problems);
    if (problems.length) return;
    try {
      const text = S.canonicalJson({
        documents: documents, price: price,
        files: await Promise.all(files.map(encoded)),
      });
      const sealed = await S.seal(form.dataset.key, form.dataset.box, "bid",
                                  new TextEncoder().encode(text));
      form.elements.sealed.value = S.b64encode(sealed);
      form.elements.price.value = "";
      form.elements.documents.value = "";
      form.elements.files.value = "";
      form.dataset.sealedOnce = "1";
      form.submit();
    } catch (err) {
      form.dataset.sealedOnce = "1";
      form.submit();  // no WebCrypto X25519: the server seals, and marks the bid so
    }
  });
})();
