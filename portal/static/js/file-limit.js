/* Refuse an over-large file before it is sent, so the form and its text stay as they are.
 * Any <input type="file" data-max-bytes="N" data-too-large="message"> gets this check; the
 * server checks again whatever happens here. */
(function () {
  "use strict";
  function check(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    var tooLarge = Boolean(file && max && file.size > max);
    input.setCustomValidity(tooLarge ? input.getAttribute("data-too-large") : "");
    var message = document.getElementById(input.id + "-size-error");
    if (message) {
      message.hidden = !tooLarge;
    }
    if (tooLarge) {
      input.value = "";
    }
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input instanceof HTMLInputElement && input.type === "file" && input.hasAttribute("data-max-bytes")) {
      check(input);
    }
  });
})();
