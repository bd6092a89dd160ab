/*
 * Progress for large uploads.
 *
 *   <form method="post" enctype="multipart/form-data" data-upload-progress
 *         data-uploading="Uploading… %(percent)s%" data-processing="Checking the photo…"
 *         data-failed="The upload did not finish. Your text is still here; please try again.">
 *     ... <input type="file" name="image" data-max-bytes="..." data-too-large="..."> ...
 *     <div class="portal-upload-status" data-upload-status hidden>
 *       <progress max="100" value="0" data-upload-bar></progress>
 *       <p role="status" data-upload-text></p>
 *     </div>
 *     <button type="submit">Upload</button>
 *   </form>
 *
 * When such a form is submitted with a file chosen and valid fields, it is sent with
 * XMLHttpRequest instead, so the page can show how far the upload is:
 * - the status block appears; the bar follows the upload and the text gives the percent
 *   (the text, a polite live region, changes by steps of 10% and at most once a second,
 *   so screen readers are not flooded), then data-processing once every byte is sent;
 * - the submit buttons are disabled meanwhile, so it cannot be sent twice;
 * - after a success the server redirects: that page is shown, at its address (replaceState);
 *   any other answer (a form sent back with errors, 413, 429, 500) replaces this document
 *   with the server's page, as a normal submission would have shown it;
 * - if the connection fails, the bar goes away, the buttons come back and the text says
 *   data-failed; what the person typed is untouched, so they can try again.
 * Without a file, with invalid fields, or without JavaScript, the form submits as usual.
 * A submission cancelled by another script (confirm.js) is left alone.
 *
 * All wording comes from data- attributes the server translated.
 * Classic script, load with <script src="..." defer>. No dependencies, no inline code.
 */
(function () {
  "use strict";

  var ANNOUNCE_EVERY_MS = 1000;
  var ANNOUNCE_STEP = 10; // percent

  function fill(template, name, value) {
    return (template || "").split("%(" + name + ")s").join(String(value));
  }

  function hasFile(form) {
    var inputs = form.querySelectorAll("input[type=file]");
    for (var i = 0; i < inputs.length; i += 1) {
      if (!inputs[i].disabled && inputs[i].files && inputs[i].files.length) {
        return true;
      }
    }
    return false;
  }

  function withoutHash(url) {
    var hash = url.indexOf("#");
    return hash < 0 ? url : url.slice(0, hash);
  }

  function target(form, submitter) {
    var raw = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action") || "";
    return withoutHash(new URL(raw || window.location.href, window.location.href).href);
  }

  function submitButtons(form) {
    // Its own elements, including any outside it that name it with form="id".
    var buttons = [];
    for (var i = 0; i < form.elements.length; i += 1) {
      var element = form.elements[i];
      var tag = element.tagName;
      if ((tag === "BUTTON" || tag === "INPUT") && (element.type === "submit" || element.type === "image") &&
          !element.disabled) {
        buttons.push(element);
      }
    }
    return buttons;
  }

  function Upload(form, submitter) {
    this.form = form;
    this.submitter = submitter;
    this.status = form.querySelector("[data-upload-status]");
    this.bar = form.querySelector("[data-upload-bar]");
    this.text = form.querySelector("[data-upload-text]");
    this.buttons = [];
    this.shown = -1; // percent step last put in the text (Infinity: no more progress)
    this.shownAt = 0;
    this.latest = 0;
    this.timer = 0;
  }

  Upload.prototype.say = function (message) {
    if (this.text) {
      this.text.textContent = message;
    }
  };

  /* The bar follows every step; the text (a live region) at most every ANNOUNCE_EVERY_MS,
   * catching up with the latest percent when that time is up. */
  Upload.prototype.progress = function (percent) {
    var self = this;
    if (this.bar) {
      this.bar.value = percent;
    }
    if (percent >= 100) {
      this.processing();
      return;
    }
    this.latest = percent;
    if (this.shown === Infinity || Math.floor(percent / ANNOUNCE_STEP) === this.shown || this.timer) {
      return;
    }
    var wait = this.shownAt + ANNOUNCE_EVERY_MS - Date.now();
    if (wait > 0) {
      this.timer = window.setTimeout(function () {
        self.timer = 0;
        self.progress(self.latest);
      }, wait);
      return;
    }
    this.shown = Math.floor(percent / ANNOUNCE_STEP);
    this.shownAt = Date.now();
    this.say(fill(this.form.getAttribute("data-uploading"), "percent", percent));
  };

  Upload.prototype.processing = function () {
    this.stopTimer();
    if (this.bar) {
      this.bar.value = 100;
    }
    if (this.shown !== Infinity) {
      this.shown = Infinity;
      this.say(this.form.getAttribute("data-processing") || "");
    }
  };

  Upload.prototype.begin = function () {
    var self = this;
    var form = this.form;
    var data = new FormData(form);
    // FormData(form) leaves out the button that was pressed; a normal submission sends it.
    var submitter = this.submitter;
    if (submitter && submitter.name && !submitter.disabled && submitter.type !== "image") {
      data.append(submitter.name, submitter.value);
    }
    var url = target(form, submitter);

    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable && event.total > 0) {
        self.progress(Math.min(100, Math.floor((event.loaded / event.total) * 100)));
      }
    });
    xhr.upload.addEventListener("load", function () {
      self.processing();
    });
    xhr.addEventListener("load", function () {
      self.finish(xhr, url);
    });
    xhr.addEventListener("error", function () {
      self.fail();
    });
    xhr.addEventListener("abort", function () {
      self.fail();
    });
    xhr.addEventListener("timeout", function () {
      self.fail();
    });

    // Focus would fall to the page's start when the focused button is disabled; keep it on
    // the status text instead (which is then read out).
    var focused = document.activeElement;
    this.buttons = submitButtons(form);
    for (var i = 0; i < this.buttons.length; i += 1) {
      this.buttons[i].disabled = true;
    }
    form.setAttribute("aria-busy", "true");
    if (this.bar) {
      this.bar.hidden = false;
      this.bar.value = 0;
    }
    if (this.status) {
      this.status.classList.remove("is-failed");
      this.status.hidden = false;
    }
    if (this.status && this.buttons.indexOf(focused) >= 0) {
      this.status.setAttribute("tabindex", "-1");
      this.status.focus();
    }
    // The live region has just been shown: give screen readers a moment to notice it before
    // its text changes, or the first message may go unread.
    this.say("");
    this.shownAt = Date.now() - ANNOUNCE_EVERY_MS + 150;
    window.setTimeout(function () {
      if (self.shown < 0) {
        self.progress(self.latest);
      }
    }, 150);

    xhr.send(data);
  };

  Upload.prototype.stopTimer = function () {
    if (this.timer) {
      window.clearTimeout(this.timer);
      this.timer = 0;
    }
  };

  Upload.prototype.release = function () {
    this.stopTimer();
    for (var i = 0; i < this.buttons.length; i += 1) {
      this.buttons[i].disabled = false;
    }
    this.form.removeAttribute("aria-busy");
    delete this.form.portalUpload;
  };

  Upload.prototype.finish = function (xhr, url) {
    var status = xhr.status;
    if (status === 0) {
      this.fail();
      return;
    }
    var landed = xhr.responseURL ? withoutHash(xhr.responseURL) : "";
    if (status >= 200 && status < 300 && landed && landed !== url) {
      // Saved, and redirected: show the page the redirect led to (with its one-time
      // confirmation message, which loading it again would lose) at its own address.
      window.history.replaceState(null, "", xhr.responseURL);
    }
    // The server's own answer (the form with its errors, or an error page), as a normal
    // submission would have shown it.
    document.open();
    document.write(xhr.responseText);
    document.close();
  };

  Upload.prototype.fail = function () {
    if (this.form.portalUpload !== this) {
      return; // already handled
    }
    var hadFocus = this.status && this.status.contains(document.activeElement);
    this.release();
    if (this.bar) {
      this.bar.hidden = true;
    }
    if (this.status) {
      this.status.hidden = false;
      this.status.classList.add("is-failed");
    }
    this.shown = Infinity;
    this.say(this.form.getAttribute("data-failed") || "");
    if (hadFocus || document.activeElement === document.body || !document.activeElement) {
      var back = this.submitter && this.buttons.indexOf(this.submitter) >= 0 ? this.submitter : this.buttons[0];
      if (back) {
        back.focus();
      }
    }
  };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload-progress")) {
      return;
    }
    if (form.portalUpload) {
      event.preventDefault(); // already sending
      return;
    }
    if (event.defaultPrevented || !window.FormData || !hasFile(form) || !form.checkValidity()) {
      return; // the browser (or another script) does as it would
    }
    event.preventDefault();
    var upload = new Upload(form, event.submitter || null);
    form.portalUpload = upload;
    upload.begin();
  });
})();
