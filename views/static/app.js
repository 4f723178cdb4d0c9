// Progressive enhancement for the Molthub UI. Every page works without this file: forms POST and
// redirect, links navigate. With it: live refresh over server-sent events, confirmation before
// destructive actions, copy buttons, and a workspace picker that switches on change.
(function () {
  "use strict";

  var doc = document;
  doc.documentElement.classList.add("js");

  // ---------- live refresh ----------
  // Lists carry hx-trigger="molthub:changed from:body"; one SSE connection per page fires that event
  // (debounced, so a burst of writes refreshes once).
  function startLive() {
    if (!window.EventSource || !doc.body || doc.body.getAttribute("data-live") !== "on") return;
    var source = null;
    var timer = null;
    var backoff = 2000;

    function changed() {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () {
        timer = null;
        if (window.htmx) window.htmx.trigger(doc.body, "molthub:changed");
      }, 250);
    }

    function connect() {
      source = new EventSource("/api/v1/events");
      source.addEventListener("ready", function () {
        backoff = 2000;
      });
      source.addEventListener("changed", changed);
      source.onerror = function () {
        // The browser retries by itself while the stream is CONNECTING; a CLOSED stream (signed out,
        // server gone) is retried here with a growing pause.
        if (source.readyState === EventSource.CLOSED) {
          source = null;
          setTimeout(function () {
            if (!doc.hidden) connect();
          }, backoff);
          backoff = Math.min(backoff * 2, 60000);
        }
      };
    }

    doc.addEventListener("visibilitychange", function () {
      if (!doc.hidden && !source) {
        connect();
        changed();
      }
    });
    window.addEventListener("pagehide", function () {
      if (source) source.close();
      source = null;
    });
    connect();
  }

  // ---------- confirm destructive actions ----------
  doc.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var submitter = event.submitter;
      var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );

  // ---------- copy buttons ----------
  function selectText(el) {
    var range = doc.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    if (!sel) return;
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // Elements are set up once; htmx-swapped content is set up when it arrives.
  function each(root, selector, fn) {
    var found = root.querySelectorAll(selector);
    Array.prototype.forEach.call(found, function (el) {
      if (el.hasAttribute("data-ready")) return;
      el.setAttribute("data-ready", "");
      fn(el);
    });
  }

  function setupCopy(root) {
    each(root, "button[data-copy]", function (button) {
      button.hidden = false;
      var label = button.textContent;
      button.addEventListener("click", function () {
        var target = doc.getElementById(button.getAttribute("data-copy"));
        if (!target) return;
        var text = target.textContent || "";
        function done(msg) {
          button.textContent = msg;
          setTimeout(function () {
            button.textContent = label;
          }, 2000);
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(
            function () {
              done("Copied");
            },
            function () {
              selectText(target);
              done("Press Ctrl+C");
            },
          );
        } else {
          // plain-HTTP origins have no clipboard API: select the text so one key press copies it
          selectText(target);
          done("Selected: press Ctrl+C");
        }
      });
    });
  }

  // ---------- submit on change (workspace picker) ----------
  function setupAutosubmit(root) {
    each(root, "select[data-autosubmit]", function (select) {
      var button = select.form && select.form.querySelector("[data-autosubmit-button]");
      if (button) button.hidden = true;
      select.addEventListener("change", function () {
        if (select.form) {
          if (select.form.requestSubmit) select.form.requestSubmit();
          else select.form.submit();
        }
      });
    });
  }

  function init() {
    setupCopy(doc);
    setupAutosubmit(doc);
    startLive();
    // swapped-in content (outerHTML swaps replace their target, so look from the document)
    doc.addEventListener("htmx:afterSettle", function () {
      setupCopy(doc);
      setupAutosubmit(doc);
    });
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", init);
  else init();
})();
