/* The candidate ballot: at most as many candidates as seats can be ticked (a further tick is
 * undone and explained), the choices are confirmed, then sealed and signed on this device
 * (seal.js) and only the sealed ballot, credential and signature are sent. Without JavaScript
 * the form posts the ticks and the server refuses an over-selected ballot. */
(function () {
  "use strict";
  const form = document.getElementById("candidate-form");
  if (!form) return;
  const seats = Number(form.dataset.seats);
  const boxes = Array.from(form.querySelectorAll("input[name=selected]"));
  const warning = document.getElementById("over-selection");
  const counter = document.getElementById("selection-count");

  function picked() {
    return boxes.filter(function (b) { return b.checked; });
  }
  function show() {
    counter.textContent = picked().length + " / " + seats;
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked && picked().length > seats) {
        box.checked = false;
        warning.hidden = false;
      } else {
        warning.hidden = true;
      }
      show();
    });
  });
  show();

  if (!window.CourtyardSeal || !window.crypto || !window.crypto.subtle) return;
  const S = window.CourtyardSeal;
  const sealedForm = document.getElementById("sealed-form");
  const confirmBox = document.getElementById("confirm");
  const confirmList = document.getElementById("confirm-list");
  const status = document.getElementById("seal-status");
  const button = document.getElementById("cast");
  let confirmed = false;

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const finalBox = form.querySelector("input[name=final]");
    if (!finalBox.checked) {
      finalBox.reportValidity();
      return;
    }
    const chosen = picked();
    if (chosen.length > seats) {
      warning.hidden = false;
      return;
    }
    if (!confirmed) {
      const items = chosen.length ? chosen.map(function (b) {
        return b.dataset.name;
      }) : [button.dataset.blank];
      confirmList.replaceChildren(...items.map(function (text) {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
      }));
      confirmBox.hidden = false;
      button.textContent = button.dataset.confirm;
      confirmed = true;
      boxes.forEach(function (b) { b.disabled = true; });
      return;
    }
    button.disabled = true;
    status.textContent = "…";
    try {
      const boxId = form.dataset.boxId;
      const boxKey = S.b64decode(form.dataset.boxKey);
      const ids = chosen.map(function (b) { return b.value; });
      const sealed = await S.seal(boxKey, boxId, "candidate", S.encodeCandidateBallot(ids));
      const credential = await S.generateCredential();
      const signature = await S.signBallot(credential.privateKey, boxId, sealed);
      sealedForm.elements.sealed.value = S.b64encode(sealed);
      sealedForm.elements.credential.value = S.b64encode(credential.publicKey);
      sealedForm.elements.signature.value = S.b64encode(signature);
      sealedForm.submit();
    } catch (err) {
      button.disabled = false;
      status.textContent = String(err);
    }
  });
})();
