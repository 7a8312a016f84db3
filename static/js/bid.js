/* Seal a tender bid in the browser: the price and documents become one sealed envelope
 * (canonical JSON {"documents": …, "price": …}, kind "bid") and only the envelope is posted. */
(function () {
  "use strict";
  const form = document.getElementById("bid-form");
  if (!form || !window.CourtyardSeal) return;
  form.addEventListener("submit", async function (event) {
    if (form.dataset.sealedOnce) return;
    event.preventDefault();
    const price = form.elements.price.value.trim();
    const documents = form.elements.documents.value.trim();
    if (!/^\d+(\.\d{1,2})?$/.test(price) || Number(price) <= 0) {
      form.submit();  // the server names the field at fault and seals nothing
      return;
    }
    try {
      const text = window.CourtyardSeal.canonicalJson({ documents: documents, price: price });
      const sealed = await window.CourtyardSeal.seal(
        form.dataset.key, form.dataset.box, "bid", new TextEncoder().encode(text));
      form.elements.sealed.value = window.CourtyardSeal.b64encode(sealed);
      form.elements.price.value = "";
      form.elements.documents.value = "";
      form.dataset.sealedOnce = "1";
      form.submit();
    } catch (err) {
      form.dataset.sealedOnce = "1";
      form.submit();  // no WebCrypto X25519: the server seals, and marks the bid so
    }
  });
})();
