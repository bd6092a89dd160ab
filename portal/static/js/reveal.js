/*
 * Sensitive photos: blurred until the person chooses to see them.
 *
 *   <div class="portal-sensitive" data-sensitive>
 *     <p class="portal-sensitive__note">Content note: ...</p>
 *     <button type="button" class="usa-button usa-button--outline" data-reveal>Show the photo</button>
 *     <div class="portal-sensitive__media is-concealed"> <img ...> (or a figure, a region editor) </div>
 *   </div>
 *
 * - While concealed (portal.css blurs it), the media is `inert`: nothing inside it takes focus
 *   or clicks, and assistive technology skips it too (the note says what it is). The server
 *   may render `inert` itself; this script makes sure of it either way.
 * - The button reveals the media of its own [data-sensitive] only, hides itself and moves
 *   focus to the media (tabindex="-1"), so keyboard and screen-reader users land on it.
 * - The choice is not remembered: no storage, no cookie, no change to the URL. Each item on a
 *   page is revealed on its own.
 *
 * Without JavaScript the media stays blurred; the server offers a <noscript> link instead.
 * No wording here: the button and the note come translated from the server.
 *
 * Classic script, load with <script src="..." defer>. No dependencies, no inline code.
 */
(function () {
  "use strict";

  /* The media of this [data-sensitive] (not of one nested inside it). */
  function mediaOf(container) {
    var found = container.querySelectorAll(".portal-sensitive__media");
    for (var i = 0; i < found.length; i += 1) {
      if (found[i].closest("[data-sensitive]") === container) {
        return found[i];
      }
    }
    return null;
  }

  function conceal(media) {
    media.setAttribute("inert", "");
    if (!media.hasAttribute("tabindex")) {
      media.setAttribute("tabindex", "-1");
    }
  }

  function reveal(button) {
    var container = button.closest("[data-sensitive]");
    var media = container && mediaOf(container);
    if (!media) {
      return;
    }
    media.classList.remove("is-concealed");
    media.removeAttribute("inert");
    if (!media.hasAttribute("tabindex")) {
      media.setAttribute("tabindex", "-1");
    }
    button.hidden = true;
    media.focus();
  }

  function start() {
    var concealed = document.querySelectorAll("[data-sensitive] .portal-sensitive__media.is-concealed");
    for (var i = 0; i < concealed.length; i += 1) {
      conceal(concealed[i]);
    }
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-reveal]");
      if (button && button.closest("[data-sensitive]")) {
        event.preventDefault();
        reveal(button);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
