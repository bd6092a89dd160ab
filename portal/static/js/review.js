/*
 * Review: highlights of annotations in the text, and "Comment on the selection".
 *
 * The reading page (templates/reports/read.html) holds each language of the text in
 *   <article class="portal-document" data-language="en" data-annotate-url="...?language=en"
 *            data-i18n-start="Comment {n} starts" data-i18n-end="Comment {n} ends" ...>
 * and the comments beside it as
 *   <li id="annotation-7" data-annotation-id="7" data-language="en" data-start="12" data-end="40">
 *
 * Offsets are those of the server's plain text (portal/documents/rendering.py): the text of
 * each leaf block (heading, paragraph, or the paragraph of a tight list item, which renders as
 * the <li> itself), whitespace collapsed to single spaces and trimmed, empty leaves left out,
 * joined with "\n\n"; they count code points, as Python does. This script rebuilds that text
 * from the DOM, with a map from each of its characters back to a position in a text node.
 *
 * - Highlights: each annotation's span is wrapped in <mark class="portal-highlight">, one per
 *   text node it touches, with visually hidden "Comment N starts/ends" markers for screen
 *   readers. The first mark is a link-like control (Enter, Space or a click) that moves focus
 *   to the comment in the list; the comment's "Back to the text" button returns it.
 * - Selection: selecting words in an article (mouse or keyboard) shows a "Comment on the
 *   selection" link after the block where the selection ends; it opens the comment form for
 *   exactly those words.
 *
 * Escape is never handled here: pressing it twice is the quick exit (quick-exit.js).
 * All wording comes from data- attributes the server translated.
 *
 * Classic script, load with <script src="..." defer>. No dependencies, no inline code.
 */
(function () {
  "use strict";

  // Elements this script or the server adds inside the text that are not part of it.
  var UI_CLASSES = ["portal-annotate", "portal-highlight__marker", "portal-selection-action"];
  // Elements that may sit between a leaf block and its text (markdown inline markup, and the
  // marks this script adds). Text under anything else (a table, a code block, a nested list)
  // is not part of the leaf's text.
  var INLINE = {
    A: true,
    ABBR: true,
    B: true,
    BR: true,
    CODE: true,
    DEL: true,
    EM: true,
    I: true,
    INS: true,
    MARK: true,
    S: true,
    SMALL: true,
    SPAN: true,
    STRONG: true,
    SUB: true,
    SUP: true,
    U: true
  };

  /* Python's str.isspace() (what `\s` matches in a Python str pattern), which differs from
   * JavaScript's \s: Python counts U+001C..U+001F and U+0085, JavaScript counts U+FEFF. */
  function isSpace(code) {
    return (
      (code >= 0x09 && code <= 0x0d) ||
      (code >= 0x1c && code <= 0x20) ||
      code === 0x85 ||
      code === 0xa0 ||
      code === 0x1680 ||
      (code >= 0x2000 && code <= 0x200a) ||
      code === 0x2028 ||
      code === 0x2029 ||
      code === 0x202f ||
      code === 0x205f ||
      code === 0x3000
    );
  }

  function isUi(element) {
    for (var i = 0; i < UI_CLASSES.length; i += 1) {
      if (element.classList.contains(UI_CLASSES[i])) {
        return true;
      }
    }
    return false;
  }

  /* The leaf block a text node (or <br>) belongs to, or null when its text is not counted. */
  function leafOf(node, article) {
    var element = node.parentNode;
    while (element && element !== article) {
      if (element.hasAttribute("data-block")) {
        return element;
      }
      if (!INLINE[element.tagName]) {
        return null;
      }
      element = element.parentNode;
    }
    return null;
  }

  /*
   * The article's plain text and, for each UTF-16 unit of it, the text node and offset it
   * comes from (nodeAt[i] is null for the "\n\n" between blocks and for <br>).
   */
  function textModel(article) {
    var runs = [];
    var current = null;
    var walker = document.createTreeWalker(
      article,
      NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT,
      {
        acceptNode: function (node) {
          if (node.nodeType === 1) {
            if (isUi(node)) {
              return NodeFilter.FILTER_REJECT;
            }
            return node.tagName === "BR" ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
          }
          return NodeFilter.FILTER_ACCEPT;
        }
      }
    );
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var leaf = leafOf(node, article);
      if (!leaf) {
        continue;
      }
      if (!current || current.leaf !== leaf) {
        current = { leaf: leaf, items: [] };
        runs.push(current);
      }
      current.items.push(node);
    }

    var text = "";
    var nodeAt = [];
    var offsetAt = [];
    runs.forEach(function (run) {
      var out = "";
      var outNodes = [];
      var outOffsets = [];
      var space = null; // where a pending run of whitespace starts
      run.items.forEach(function (item) {
        var isText = item.nodeType === 3;
        var data = isText ? item.data : " ";
        for (var i = 0; i < data.length; i += 1) {
          var code = data.charCodeAt(i);
          if (isSpace(code)) {
            // The collapsed space stands for the first whitespace character of a text node in
            // the run (a <br> has none of its own), so that highlights include it.
            if (!space || (!space.node && isText)) {
              space = { node: isText ? item : null, offset: i };
            }
            continue;
          }
          if (space) {
            if (out) {
              out += " ";
              outNodes.push(space.node);
              outOffsets.push(space.offset);
            }
            space = null;
          }
          out += data.charAt(i);
          outNodes.push(isText ? item : null);
          outOffsets.push(i);
        }
      });
      if (!out) {
        return;
      }
      if (text) {
        text += "\n\n";
        nodeAt.push(null, null);
        offsetAt.push(0, 0);
      }
      text += out;
      for (var k = 0; k < outNodes.length; k += 1) {
        nodeAt.push(outNodes[k]);
        offsetAt.push(outOffsets[k]);
      }
    });
    return { text: text, nodeAt: nodeAt, offsetAt: offsetAt };
  }

  /* UTF-16 index -> code points before it, and back (Python counts code points). */
  function codePointsBefore(text, index) {
    var count = 0;
    for (var i = 0; i < index; i += 1) {
      var code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < index) {
        var next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          i += 1;
        }
      }
      count += 1;
    }
    return count;
  }

  function indexOfCodePoint(text, codePoints) {
    var i = 0;
    for (var seen = 0; seen < codePoints && i < text.length; seen += 1) {
      var code = text.charCodeAt(i);
      var next = text.charCodeAt(i + 1);
      i += code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    }
    return seen === codePoints ? i : -1;
  }

  /* Wrap text[start:end] (code points) in elements made by make(); returns them in order. */
  function wrapSpan(article, start, end, make) {
    var model = textModel(article);
    var from = indexOfCodePoint(model.text, start);
    var to = indexOfCodePoint(model.text, end);
    if (from < 0 || to < 0 || from >= to) {
      return [];
    }
    var pieces = [];
    for (var i = from; i < to; i += 1) {
      var node = model.nodeAt[i];
      if (!node) {
        continue;
      }
      var offset = model.offsetAt[i];
      var last = pieces[pieces.length - 1];
      if (last && last.node === node) {
        last.end = offset + 1;
      } else {
        pieces.push({ node: node, start: offset, end: offset + 1 });
      }
    }
    // A piece of whitespace alone at either end would make an empty-looking highlight.
    function blank(piece) {
      return !piece.node.data.slice(piece.start, piece.end).trim();
    }
    while (pieces.length && blank(pieces[0])) {
      pieces.shift();
    }
    while (pieces.length && blank(pieces[pieces.length - 1])) {
      pieces.pop();
    }
    return pieces.map(function (piece) {
      var target = piece.node;
      if (piece.end < target.length) {
        target.splitText(piece.end);
      }
      if (piece.start > 0) {
        target = target.splitText(piece.start);
      }
      var wrapper = make();
      target.parentNode.insertBefore(wrapper, target);
      wrapper.appendChild(target);
      return wrapper;
    });
  }

  function words(article, name, number) {
    var template = article.getAttribute(name) || "";
    return template.split("{n}").join(String(number));
  }

  function marker(text) {
    var span = document.createElement("span");
    span.className = "usa-sr-only portal-highlight__marker";
    span.textContent = " " + text + " ";
    return span;
  }

  // Highlights ----------------------------------------------------------------------------------

  var firstMarks = {}; // annotation id -> its focusable first mark

  function drawHighlights(articles) {
    var items = document.querySelectorAll(".portal-annotations li[data-annotation-id]");
    for (var index = 0; index < items.length; index += 1) {
      var item = items[index];
      var id = item.getAttribute("data-annotation-id");
      var start = parseInt(item.getAttribute("data-start"), 10);
      var end = parseInt(item.getAttribute("data-end"), 10);
      var article = articles[item.getAttribute("data-language")];
      if (!article || isNaN(start) || isNaN(end) || start >= end) {
        continue;
      }
      var concern = item.classList.contains("portal-annotation--concern");
      var marks = wrapSpan(article, start, end, makeMark(id, concern));
      if (!marks.length) {
        continue;
      }
      var number = index + 1;
      var prefix = concern ? "data-i18n-concern-" : "data-i18n-";
      marks[0].insertBefore(marker(words(article, prefix + "start", number)), marks[0].firstChild);
      marks[marks.length - 1].appendChild(marker(words(article, prefix + "end", number)));
      // The first mark that is not inside a link of the text becomes the control. It may sit
      // inside another highlight's control (two comments on the same words): each stays
      // reachable with Tab, and a click goes to the innermost.
      var control = null;
      for (var m = 0; m < marks.length && !control; m += 1) {
        var link = marks[m].parentNode.closest("a[href]");
        if (!link || !article.contains(link)) {
          control = marks[m];
        }
      }
      if (control) {
        control.setAttribute("tabindex", "0");
        control.setAttribute("role", "link");
        control.classList.add("portal-highlight--first");
        firstMarks[id] = control;
        var back = item.querySelector(".portal-back-to-text");
        if (back) {
          back.hidden = false;
        }
      }
    }
  }

  function makeMark(id, concern) {
    return function () {
      var mark = document.createElement("mark");
      mark.className = "portal-highlight" + (concern ? " portal-highlight--concern" : "");
      mark.setAttribute("data-annotation-id", id);
      return mark;
    };
  }

  function showThread(id) {
    var item = document.getElementById("annotation-" + id);
    if (item) {
      item.focus();
    }
  }

  function onHighlightClick(event) {
    var mark = event.target.closest && event.target.closest("mark.portal-highlight");
    if (!mark || event.target.closest("a[href]")) {
      return;
    }
    var selection = window.getSelection();
    if (selection && !selection.isCollapsed) {
      return; // the reader is selecting words, not following the highlight
    }
    showThread(mark.getAttribute("data-annotation-id"));
  }

  function onHighlightKey(event) {
    var mark = event.target;
    if (!mark.classList || !mark.classList.contains("portal-highlight--first")) {
      return;
    }
    if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
      event.preventDefault(); // Space would scroll the page
      showThread(mark.getAttribute("data-annotation-id"));
    }
  }

  function onBackToText(event) {
    var button = event.target.closest && event.target.closest(".portal-back-to-text");
    if (!button) {
      return;
    }
    var item = button.closest("li[data-annotation-id]");
    var mark = item && firstMarks[item.getAttribute("data-annotation-id")];
    if (mark) {
      mark.focus();
    }
  }

  // Selection -------------------------------------------------------------------------------

  var action = null; // the "Comment on the selection" container, while shown
  var pending = 0;

  function articleOf(node, articles) {
    var element = node && (node.nodeType === 1 ? node : node.parentNode);
    var article = element && element.closest("article.portal-document[data-language]");
    return article && articles[article.getAttribute("data-language")] === article ? article : null;
  }

  /* The selection as [start, end) code points of an article's plain text, or null. */
  function selectedSpan(articles) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) {
      return null;
    }
    var range = selection.getRangeAt(0);
    var article = articleOf(range.startContainer, articles);
    if (!article || article !== articleOf(range.endContainer, articles)) {
      return null;
    }
    if (!article.getAttribute("data-annotate-url")) {
      return null;
    }
    var model = textModel(article);
    var inRange = new Map(); // text node -> [from, to) of its offsets inside the selection
    var first = -1;
    var last = -1;
    for (var i = 0; i < model.text.length; i += 1) {
      var node = model.nodeAt[i];
      if (!node) {
        continue;
      }
      var bounds = inRange.get(node);
      if (bounds === undefined) {
        bounds = null;
        if (range.intersectsNode(node)) {
          bounds = [
            node === range.startContainer ? range.startOffset : 0,
            node === range.endContainer ? range.endOffset : node.length
          ];
        }
        inRange.set(node, bounds);
      }
      var offset = model.offsetAt[i];
      if (bounds && offset >= bounds[0] && offset < bounds[1]) {
        if (first < 0) {
          first = i;
        }
        last = i;
      }
    }
    var text = model.text;
    while (first >= 0 && first <= last && isSpace(text.charCodeAt(first))) {
      first += 1;
    }
    while (last >= first && first >= 0 && isSpace(text.charCodeAt(last))) {
      last -= 1;
    }
    if (first < 0 || first > last) {
      return null;
    }
    // Never split a surrogate pair (an emoji, a mathematical letter).
    var low = text.charCodeAt(first);
    if (low >= 0xdc00 && low <= 0xdfff && first > 0) {
      first -= 1;
    }
    var high = text.charCodeAt(last);
    if (high >= 0xd800 && high <= 0xdbff && last + 1 < text.length) {
      last += 1;
    }
    var endNode = model.nodeAt[last] || model.nodeAt[first];
    return {
      article: article,
      start: codePointsBefore(text, first),
      end: codePointsBefore(text, last + 1),
      block: endNode ? leafOf(endNode, article) : null
    };
  }

  function removeAction() {
    if (action && action.parentNode) {
      action.parentNode.removeChild(action);
    }
    action = null;
  }

  function showAction(span) {
    var base = span.article.getAttribute("data-annotate-url");
    var url =
      base + (base.indexOf("?") < 0 ? "?" : "&") + "start=" + span.start + "&end=" + span.end;
    if (!action) {
      action = document.createElement("div");
      action.className = "portal-selection-action";
      var link = document.createElement("a");
      link.className = "usa-button usa-button--outline portal-selection-action__link";
      link.textContent = span.article.getAttribute("data-i18n-comment-selection");
      // Keep the selection when the link is pressed with the mouse.
      link.addEventListener("mousedown", function (event) {
        event.preventDefault();
      });
      link.addEventListener("blur", schedule);
      action.appendChild(link);
    }
    action.firstChild.setAttribute("href", url);
    action.firstChild.textContent = span.article.getAttribute("data-i18n-comment-selection");
    // Right after the block where the selection ends, so Tab reaches it next. A tight list
    // item is the block itself: the link goes at its end, since a list holds only items.
    var block = span.block || span.article.lastElementChild;
    if (block.tagName === "LI") {
      if (action.parentNode !== block || action.nextSibling) {
        block.appendChild(action);
      }
    } else if (block.nextSibling !== action) {
      block.parentNode.insertBefore(action, block.nextSibling);
    }
  }

  function update(articles) {
    pending = 0;
    var span = selectedSpan(articles);
    if (span) {
      showAction(span);
      // A click in the text focuses the nearest focusable container (<main tabindex="-1">),
      // and Tab would then start from the top of the page. Without that focus, the browser
      // starts from the selection, and the next Tab reaches "Comment on the selection".
      var focused = document.activeElement;
      if (focused && focused !== document.body && focused.tabIndex < 0 &&
          focused.contains(span.article)) {
        focused.blur();
      }
    } else if (!(action && action.contains(document.activeElement))) {
      removeAction();
    }
  }

  var articlesForSelection = null;

  function schedule() {
    if (!articlesForSelection) {
      return;
    }
    if (pending) {
      window.clearTimeout(pending);
    }
    pending = window.setTimeout(function () {
      update(articlesForSelection);
    }, 60);
  }

  // Start -------------------------------------------------------------------------------------

  function start() {
    var articles = {};
    var annotatable = false;
    var found = document.querySelectorAll("article.portal-document[data-language]");
    for (var i = 0; i < found.length; i += 1) {
      articles[found[i].getAttribute("data-language")] = found[i];
      if (found[i].getAttribute("data-annotate-url")) {
        annotatable = true;
      }
    }
    if (!found.length) {
      return;
    }
    drawHighlights(articles);
    document.addEventListener("click", onHighlightClick);
    document.addEventListener("click", onBackToText);
    document.addEventListener("keydown", onHighlightKey);
    if (annotatable) {
      articlesForSelection = articles;
      document.addEventListener("selectionchange", schedule);
      document.addEventListener("mouseup", schedule);
      document.addEventListener("keyup", schedule);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
