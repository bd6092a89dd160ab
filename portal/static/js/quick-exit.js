/*
 * Quick exit (safety control present on every page).
 *
 * - Clicking #quick-exit, or pressing Escape twice within 1.5 s anywhere
 *   (including inside form fields and USWDS modals), hides the page and
 *   replaces it with the neutral site via location.replace(), so the current
 *   page gets no back-button entry.
 * - Without JavaScript #quick-exit is an ordinary link to the same URL.
 *
 * Classic script, load with <script src="..." defer>. No dependencies, no
 * inline code, nothing that a `script-src 'self'` policy forbids.
 */
(function () {
  "use strict";

  var ESCAPE_WINDOW_MS = 1500;
  var lastEscape = 0;
  var leaving = false;

  function neutralUrl() {
    var link = document.getElementById("quick-exit");
    var raw = link && (link.getAttribute("data-quick-exit-url") || link.getAttribute("href"));
    try {
      var url = raw && new URL(raw, window.location.href);
      // Only leave for an http(s) page other than this one.
      if (url && /^https?:$/.test(url.protocol) && url.href !== window.location.href) {
        return url.href;
      }
    } catch (e) {
      /* fall through */
    }
    return "about:blank";
  }

  function quickExit() {
    if (leaving) {
      return;
    }
    leaving = true;
    var url = neutralUrl();
    // Nothing of the portal should linger on screen (or in the tab title)
    // while the neutral site loads.
    try {
      document.title = url === "about:blank" ? "about:blank" : new URL(url).hostname;
      if (document.body) {
        document.body.hidden = true;
      }
    } catch (e) {
      /* never let cosmetics block the exit */
    }
    window.location.replace(url);
  }

  document.addEventListener(
    "click",
    function (event) {
      var target = event.target;
      if (target && target.closest && target.closest("#quick-exit")) {
        event.preventDefault();
        quickExit();
      }
    },
    true
  );

  document.addEventListener(
    "keydown",
    function (event) {
      var isEscape = event.key === "Escape" || event.key === "Esc" || event.keyCode === 27;
      // Ignore auto-repeat (a held key is one press) and IME composition
      // (Escape there cancels the conversion, it is not a request to leave).
      if (!isEscape || event.repeat || event.isComposing) {
        return;
      }
      var now = Date.now();
      if (lastEscape && now - lastEscape <= ESCAPE_WINDOW_MS) {
        lastEscape = 0;
        quickExit();
      } else {
        lastEscape = now;
      }
    },
    true
  );
})();
