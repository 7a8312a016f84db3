/* The ballot page: confirm the choices, then seal and sign them on this device (seal.js) and
 * send only the sealed ballot, its credential and signature. Without JavaScript the form posts
 * the choices and the server seals them (the board marks such ballots). */
(function () {
  "use strict";
  const form = document.getElementById("ballot-form");
  if (!form || !window.CourtyardSeal || !window.crypto || !window.crypto.subtle) return;
  const S = window.CourtyardSeal;
  const sealedForm = document.getElementById("sealed-form");
  const confirmBox = document.getElementById("confirm");
  const confirmList = document.getElementById("confirm-list");
  const status = document.getElementById("seal-status");
  const button = document.getElementById("cast");
  let confirmed = false;

  function choices() {
    const out = {};
    const labels = [];
    form.querySelectorAll("fieldset.motion-choice").forEach(function (set) {
      const picked = set.querySelector("input[type=radio]:checked");
      const title = set.querySelector("legend").textContent.trim();
      if (picked) out[set.dataset.motion] = picked.value;
      const label = picked ? picked.parentElement.textContent.trim() : "—";
      labels.push([title, label]);
    });
    return { choices: out, labels: labels };
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!form.querySelector("input[name=final]").checked) {
      form.querySelector("input[name=final]").reportValidity();
      return;
    }
    const picked = choices();
    if (!confirmed) {
      confirmList.replaceChildren(...picked.labels.map(function (pair) {
        const li = document.createElement("li");
        li.textContent = pair[0] + " — " + pair[1];
        return li;
      }));
      confirmBox.hidden = false;
      button.textContent = button.dataset.confirm;
      confirmed = true;
      confirmBox.scrollIntoView({ block: "center" });
      return;
    }
    button.disabled = true;
    status.textContent = "…";
    try {
      const boxId = form.dataset.boxId;
      const boxKey = S.b64decode(form.dataset.boxKey);
      const sealed = await S.seal(boxKey, boxId, "motion", S.encodeMotionBallot(picked.choices, false));
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
