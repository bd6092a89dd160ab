/*
 * Confirmation for destructive actions.
 *
 *   <form method="post" data-confirm="Really delete this account?"> ... </form>
 *
 * On submit, asks window.confirm(message) and cancels the submission if the
 * user declines. The message is used as-is (already translated server-side).
 * Without JavaScript the form simply submits, so the server must not rely on
 * this for anything but a second chance.
 *
 * Classic script, load with <script src="..." defer>. No inline code.
 */
(function () {
  "use strict";

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!form || !form.hasAttribute || !form.hasAttribute("data-confirm")) {
        return;
      }
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
