/*
 * Photo regions: notes tied to a rectangle of a photo, and drawing a new one.
 *
 *   <div class="portal-region-editor" data-region-editor
 *        data-label-selection="New region: arrow keys move it, Shift + arrow keys resize it"
 *        data-label-region="Region %(n)s">
 *     <div class="portal-region-editor__frame" data-region-frame>
 *       <img src="..." alt="..." data-region-image>
 *       <a class="portal-region" href="#region-12" data-x="0.10" data-y="0.20" data-w="0.30"
 *          data-h="0.15" data-region-number="1"><span class="portal-region__label">1</span></a>
 *     </div>
 *   </div>
 *   <form ... data-region-form>
 *     <input type="number" name="x"> <input name="y"> <input name="width"> <input name="height">
 *     ... (percent of the image, 0-100, one decimal)
 *   </form>
 *
 * Saved regions carry fractions (0..1) of the image, as a W3C media fragment
 * "xywh=percent:" would. This script places them over the photo in percent of the frame, so
 * they follow the photo however CSS scales it. Each is an ordinary link to its note; it gets
 * the accessible name data-label-region ("Region 1") unless it has one.
 *
 * The four number inputs are the source of truth and work without JavaScript. This script
 * adds a selection rectangle that:
 * - is drawn by dragging on the photo (pointer events, captured), or moved by dragging it;
 *   on release the inputs get its position and size, clamped inside the photo, at least 1%;
 * - follows whatever is typed in the inputs (and their initial values, e.g. after the server
 *   sent the form back with an error); a form reset brings it back to the reset values;
 * - when focused, moves by 1% with the arrow keys and resizes with Shift + arrow keys
 *   (Right/Down grow, Left/Up shrink), updating the inputs each time.
 * Escape is never handled here: pressing it twice is the quick exit (quick-exit.js).
 *
 * Values are kept in tenths of a percent (integers), so steps never drift.
 * Classic script, load with <script src="..." defer>. No dependencies, no inline code.
 */
(function () {
  "use strict";

  var FULL = 1000; // 100% in tenths of a percent
  var MIN_SIZE = 10; // 1%
  var STEP = 10; // 1% per arrow key
  var CLICK_SLOP = 4; // pixels a press may wander and still count as a click

  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  function fill(template, name, value) {
    return (template || "").split("%(" + name + ")s").join(String(value));
  }

  // Saved regions ---------------------------------------------------------------------------

  function fraction(link, name) {
    var value = parseFloat(link.getAttribute(name));
    return isFinite(value) ? clamp(value, 0, 1) : NaN;
  }

  function placeRegions(editor, frame) {
    var template = editor.getAttribute("data-label-region");
    var links = frame.querySelectorAll(".portal-region");
    for (var i = 0; i < links.length; i += 1) {
      var link = links[i];
      var x = fraction(link, "data-x");
      var y = fraction(link, "data-y");
      var w = fraction(link, "data-w");
      var h = fraction(link, "data-h");
      if (isNaN(x) || isNaN(y) || isNaN(w) || isNaN(h)) {
        continue;
      }
      w = Math.min(w, 1 - x);
      h = Math.min(h, 1 - y);
      link.style.left = x * 100 + "%";
      link.style.top = y * 100 + "%";
      link.style.width = w * 100 + "%";
      link.style.height = h * 100 + "%";
      var number = link.getAttribute("data-region-number");
      if (template && number && !link.hasAttribute("aria-label") && !link.hasAttribute("aria-labelledby")) {
        link.setAttribute("aria-label", fill(template, "n", number));
      }
    }
  }

  // The selection ---------------------------------------------------------------------------

  function Editor(editor, frame, image, form, inputs) {
    this.editor = editor;
    this.frame = frame;
    this.image = image;
    this.form = form;
    this.inputs = inputs; // {x, y, width, height}
    this.rect = null; // {x, y, w, h} in tenths of a percent, or null
    this.element = null;
    this.drag = null;
    this.swallowClick = false;
  }

  Editor.prototype.selection = function () {
    if (!this.element) {
      var element = document.createElement("div");
      element.className = "portal-region-selection";
      element.setAttribute("tabindex", "0");
      element.setAttribute("role", "group");
      var label = this.editor.getAttribute("data-label-selection");
      if (label) {
        element.setAttribute("aria-label", label);
      }
      element.hidden = true;
      element.addEventListener("keydown", this.onKey.bind(this));
      this.frame.appendChild(element);
      this.element = element;
    }
    return this.element;
  };

  /* Show rect (tenths of a percent) or hide the selection when rect is null. */
  Editor.prototype.show = function (rect) {
    this.rect = rect;
    if (!rect) {
      if (this.element) {
        if (document.activeElement === this.element) {
          this.element.blur();
        }
        this.element.hidden = true;
      }
      return;
    }
    var element = this.selection();
    element.style.left = rect.x / 10 + "%";
    element.style.top = rect.y / 10 + "%";
    element.style.width = rect.w / 10 + "%";
    element.style.height = rect.h / 10 + "%";
    element.hidden = false;
  };

  /* Clamp a rectangle inside the photo, at least MIN_SIZE each way. */
  function fit(rect) {
    var w = clamp(Math.round(rect.w), MIN_SIZE, FULL);
    var h = clamp(Math.round(rect.h), MIN_SIZE, FULL);
    return {
      x: clamp(Math.round(rect.x), 0, FULL - w),
      y: clamp(Math.round(rect.y), 0, FULL - h),
      w: w,
      h: h
    };
  }

  function percent(tenths) {
    return (tenths / 10).toFixed(1);
  }

  Editor.prototype.write = function (rect) {
    this.inputs.x.value = percent(rect.x);
    this.inputs.y.value = percent(rect.y);
    this.inputs.width.value = percent(rect.w);
    this.inputs.height.value = percent(rect.h);
  };

  /* Set the selection from the inputs as typed: shown only when all four make sense. */
  Editor.prototype.read = function () {
    var values = {};
    var names = ["x", "y", "width", "height"];
    for (var i = 0; i < names.length; i += 1) {
      var raw = this.inputs[names[i]].value;
      var value = raw === "" ? NaN : Number(raw);
      if (!isFinite(value)) {
        this.show(null);
        return;
      }
      values[names[i]] = Math.round(value * 10);
    }
    if (values.width <= 0 || values.height <= 0) {
      this.show(null);
      return;
    }
    // Shown as it would fall on the photo; the inputs keep what was typed (the server
    // checks it), so typing is never fought.
    var x = clamp(values.x, 0, FULL - 1);
    var y = clamp(values.y, 0, FULL - 1);
    this.show({
      x: x,
      y: y,
      w: clamp(values.width, 1, FULL - x),
      h: clamp(values.height, 1, FULL - y)
    });
  };

  Editor.prototype.onKey = function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !this.rect) {
      return; // leave browser and assistive technology shortcuts alone
    }
    var dx = 0;
    var dy = 0;
    switch (event.key) {
      case "ArrowLeft":
      case "Left":
        dx = -STEP;
        break;
      case "ArrowRight":
      case "Right":
        dx = STEP;
        break;
      case "ArrowUp":
      case "Up":
        dy = -STEP;
        break;
      case "ArrowDown":
      case "Down":
        dy = STEP;
        break;
      default:
        return;
    }
    event.preventDefault(); // the page must not scroll
    var rect = this.rect;
    var next;
    if (event.shiftKey) {
      next = fit({ x: rect.x, y: rect.y, w: Math.min(rect.w + dx, FULL - rect.x), h: Math.min(rect.h + dy, FULL - rect.y) });
    } else {
      next = fit({ x: rect.x + dx, y: rect.y + dy, w: rect.w, h: rect.h });
    }
    this.show(next);
    this.write(next);
  };

  /* A pointer position as tenths of a percent of the photo, clamped to it; null if no size. */
  Editor.prototype.point = function (event) {
    var box = this.image.getBoundingClientRect();
    if (box.width < 1 || box.height < 1) {
      return null;
    }
    return {
      x: clamp(((event.clientX - box.left) / box.width) * FULL, 0, FULL),
      y: clamp(((event.clientY - box.top) / box.height) * FULL, 0, FULL)
    };
  };

  /*
   * A press starts a drag on the photo, on the selection (which then moves) or on a saved
   * region. Until the pointer has moved a few pixels it is still a click: a click on a region
   * follows its link, one on the photo changes nothing. Past that the press draws (or moves
   * the selection), captured by the frame so it goes on outside the photo.
   */
  Editor.prototype.onPointerDown = function (event) {
    if (!event.isPrimary || (event.pointerType === "mouse" && event.button !== 0)) {
      return;
    }
    var start = this.point(event);
    if (!start) {
      return;
    }
    if (this.drag) {
      this.show(this.drag.before); // a drag whose end never came
    }
    var target = event.target;
    this.drag = {
      id: event.pointerId,
      moving: Boolean(this.element && this.rect && this.element.contains(target)),
      start: start,
      clientX: event.clientX,
      clientY: event.clientY,
      before: this.rect,
      moved: false
    };
    if (!target.closest(".portal-region")) {
      this.capture(event.pointerId);
      event.preventDefault(); // no image drag, no text selection
    }
    // On a region, capturing now would take its click away: see onPointerMove.
  };

  Editor.prototype.capture = function (pointerId) {
    try {
      this.frame.setPointerCapture(pointerId);
    } catch (e) {
      /* the pointer is already gone */
    }
  };

  Editor.prototype.dragged = function (drag, event) {
    var here = this.point(event);
    if (!here) {
      return null;
    }
    if (drag.moving) {
      var before = drag.before;
      return fit({
        x: before.x + here.x - drag.start.x,
        y: before.y + here.y - drag.start.y,
        w: before.w,
        h: before.h
      });
    }
    // Drawn from the press towards the pointer, whichever way; a drawing smaller than the
    // minimum grows the same way from the press (fit() then keeps it inside the photo).
    var x0 = Math.round(drag.start.x);
    var y0 = Math.round(drag.start.y);
    var x1 = Math.round(here.x);
    var y1 = Math.round(here.y);
    var w = Math.max(Math.abs(x1 - x0), MIN_SIZE);
    var h = Math.max(Math.abs(y1 - y0), MIN_SIZE);
    return fit({ x: x1 < x0 ? x0 - w : x0, y: y1 < y0 ? y0 - h : y0, w: w, h: h });
  };

  Editor.prototype.onPointerMove = function (event) {
    var drag = this.drag;
    if (!drag || event.pointerId !== drag.id) {
      return;
    }
    if (!drag.moved) {
      var far = Math.abs(event.clientX - drag.clientX) > CLICK_SLOP ||
        Math.abs(event.clientY - drag.clientY) > CLICK_SLOP;
      if (!far) {
        return;
      }
      drag.moved = true;
      this.capture(event.pointerId);
    }
    var rect = this.dragged(drag, event);
    if (rect) {
      this.show(rect);
    }
  };

  Editor.prototype.onPointerUp = function (event) {
    var drag = this.drag;
    if (!drag || event.pointerId !== drag.id) {
      return;
    }
    this.drag = null;
    var rect = drag.moved ? this.dragged(drag, event) : null;
    if (drag.moved) {
      // The click that follows a drag must not follow a region's link.
      this.swallowClick = true;
      var self = this;
      window.setTimeout(function () {
        self.swallowClick = false;
      }, 0);
    }
    if (!rect) {
      // A click (or tap) changes nothing; on the selection it just focuses it.
      this.show(drag.before);
      if (drag.moving && this.element) {
        this.element.focus({ preventScroll: true });
      }
      return;
    }
    this.show(rect);
    this.write(rect);
    // Ready for arrow keys; the next Tab goes on to the inputs.
    this.element.focus({ preventScroll: true });
  };

  Editor.prototype.onPointerCancel = function (event) {
    var drag = this.drag;
    if (drag && event.pointerId === drag.id) {
      this.drag = null;
      this.show(drag.before);
    }
  };

  Editor.prototype.onClick = function (event) {
    if (this.swallowClick) {
      this.swallowClick = false;
      event.preventDefault();
      event.stopPropagation();
    }
  };

  Editor.prototype.start = function () {
    var self = this;
    var names = ["x", "y", "width", "height"];
    this.frame.addEventListener("pointerdown", this.onPointerDown.bind(this));
    this.frame.addEventListener("pointermove", this.onPointerMove.bind(this));
    this.frame.addEventListener("pointerup", this.onPointerUp.bind(this));
    this.frame.addEventListener("pointercancel", this.onPointerCancel.bind(this));
    this.frame.addEventListener("lostpointercapture", this.onPointerCancel.bind(this));
    this.frame.addEventListener("click", this.onClick.bind(this), true);
    this.frame.addEventListener("dragstart", function (event) {
      event.preventDefault();
    });
    this.image.setAttribute("draggable", "false");
    for (var i = 0; i < names.length; i += 1) {
      this.inputs[names[i]].addEventListener("input", this.read.bind(this));
    }
    this.form.addEventListener("reset", function () {
      // The reset event comes before the fields change back.
      window.setTimeout(function () {
        self.read();
      }, 0);
    });
    this.editor.classList.add("is-drawable");
    this.read();
  };

  function input(form, name) {
    var found = form.elements.namedItem(name);
    return found instanceof HTMLInputElement ? found : null;
  }

  function start() {
    var editor = document.querySelector("[data-region-editor]");
    var frame = editor && editor.querySelector("[data-region-frame]");
    if (!frame) {
      return;
    }
    placeRegions(editor, frame);
    editor.classList.add("is-enhanced");

    var image = frame.querySelector("[data-region-image]") || frame.querySelector("img");
    var form = document.querySelector("form[data-region-form]");
    if (!image || !form || !window.PointerEvent) {
      return;
    }
    var inputs = {
      x: input(form, "x"),
      y: input(form, "y"),
      width: input(form, "width"),
      height: input(form, "height")
    };
    if (!inputs.x || !inputs.y || !inputs.width || !inputs.height) {
      return;
    }
    new Editor(editor, frame, image, form, inputs).start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
