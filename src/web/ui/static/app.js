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

    var botTimer = null;
    function botChanged() {
      if (botTimer) clearTimeout(botTimer);
      botTimer = setTimeout(function () {
        botTimer = null;
        if (window.htmx) window.htmx.trigger(doc.body, "molthub:bot");
      }, 400);
    }

    function connect() {
      source = new EventSource("/api/v1/events");
      source.addEventListener("ready", function () {
        backoff = 2000;
      });
      source.addEventListener("changed", changed);
      // bot progress from the reconciler (bot pages and the bot list listen for molthub:bot)
      source.addEventListener("bot", botChanged);
      source.addEventListener("bot.status", botChanged);
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

// Bot log viewer: streams /api/v1/bots/<name>/logs?follow=true as server-sent events ("line" events) into
// the <pre>, with a filter, a follow toggle (off pauses the stream), clear, and a download link that
// carries the filter. Without this script the page links to the plain-text endpoint instead.
(function () {
  "use strict";

  var MAX_LINES = 5000;
  var doc = document;

  function setup(root) {
    var src = root.getAttribute("data-src");
    var out = root.querySelector("[data-log-output]");
    var controls = root.querySelector("[data-log-controls]");
    var filter = root.querySelector("[data-log-filter]");
    var follow = root.querySelector("[data-log-follow]");
    var clear = root.querySelector("[data-log-clear]");
    var state = root.querySelector("[data-log-state]");
    var download = root.querySelector("[data-log-download]");
    var nojs = root.querySelector("[data-log-nojs]");
    if (!src || !out || !window.EventSource) return;
    if (controls) controls.hidden = false;
    if (nojs) nojs.hidden = true;
    out.textContent = "";

    var source = null;
    var count = 0;
    var pending = [];
    var flushTimer = null;

    function say(text) {
      if (state) state.textContent = text;
    }

    function query(params) {
      var q = [];
      Object.keys(params).forEach(function (k) {
        if (params[k] !== "" && params[k] !== undefined) q.push(k + "=" + encodeURIComponent(params[k]));
      });
      return q.length ? "?" + q.join("&") : "";
    }

    function currentFilter() {
      return filter ? filter.value.trim().slice(0, 200) : "";
    }

    function updateDownload() {
      if (download) download.setAttribute("href", src + query({ tail: "5000", filter: currentFilter() }));
    }

    function atBottom() {
      return out.scrollHeight - out.scrollTop - out.clientHeight < 40;
    }

    // lines arrive in bursts: append them in one go per frame, keep at most MAX_LINES
    function flush() {
      flushTimer = null;
      if (!pending.length) return;
      var stick = atBottom();
      out.appendChild(doc.createTextNode(pending.join("\n") + "\n"));
      count += pending.length;
      pending = [];
      while (count > MAX_LINES && out.firstChild) {
        var first = out.firstChild;
        var lines = (first.textContent.match(/\n/g) || []).length || 1;
        out.removeChild(first);
        count -= lines;
      }
      if (stick || (follow && follow.checked)) out.scrollTop = out.scrollHeight;
    }

    function note(text) {
      var span = doc.createElement("span");
      span.className = "log-note";
      span.textContent = "— " + text + " —\n";
      out.appendChild(span);
    }

    // EventSource does not expose why it was refused: ask the plain endpoint for its error message
    function explain() {
      if (!window.fetch) return;
      window
        .fetch(src + "?tail=1", { headers: { accept: "application/json" }, credentials: "same-origin" })
        .then(function (res) {
          if (res.ok) return null;
          return res.json().then(
            function (body) {
              return (body && body.error && body.error.message) || "HTTP " + res.status;
            },
            function () {
              return "HTTP " + res.status;
            },
          );
        })
        .then(function (reason) {
          note(reason ? "the log is not available: " + reason : "the stream ended; untick and tick Follow to start it again");
        })
        .catch(function () {
          note("the log is not available right now");
        });
    }

    // The gateway logs JSON lines; show "time LEVEL [subsystem] message" (the download keeps the raw lines).
    function readable(line) {
      if (line.charAt(0) !== "{") return line;
      try {
        var o = JSON.parse(line);
        var msg = typeof o.message === "string" ? o.message : typeof o["1"] === "string" ? o["1"] : null;
        if (msg === null) return line;
        var meta = o._meta || {};
        var time = String(o.time || meta.date || "").replace("T", " ").slice(0, 19);
        var level = String(meta.logLevelName || o.level || "");
        var sub = "";
        try {
          sub = typeof o["0"] === "string" ? JSON.parse(o["0"]).subsystem || "" : "";
        } catch (e) {
          sub = "";
        }
        return [time, level, sub ? "[" + sub + "]" : "", msg].filter(Boolean).join(" ");
      } catch (e) {
        return line;
      }
    }

    function stop() {
      if (source) source.close();
      source = null;
    }

    function start() {
      stop();
      var es = new EventSource(src + query({ follow: "true", tail: "200", filter: currentFilter() }));
      source = es;
      say("Connecting…");
      es.onopen = function () {
        if (source !== es) return;
        // every connection (also the browser's own reconnect) starts with the last lines again
        pending = [];
        out.textContent = "";
        count = 0;
        say("Live");
      };
      es.addEventListener("line", function (event) {
        pending.push(readable(event.data));
        if (!flushTimer) flushTimer = setTimeout(flush, 50);
      });
      es.addEventListener("error", function (event) {
        // a server-sent "error" event carries the reason; a connection error has no data
        if (event && typeof event.data === "string" && event.data) {
          flush();
          note(event.data);
        }
      });
      es.onerror = function () {
        if (source !== es) return;
        if (es.readyState === EventSource.CLOSED) {
          source = null;
          say("Not streaming");
          explain();
        } else {
          say("Reconnecting…");
        }
      };
    }

    var filterTimer = null;
    if (filter) {
      filter.addEventListener("input", function () {
        if (filterTimer) clearTimeout(filterTimer);
        filterTimer = setTimeout(function () {
          updateDownload();
          out.textContent = "";
          count = 0;
          if (!follow || follow.checked) start();
        }, 400);
      });
    }
    if (follow) {
      follow.addEventListener("change", function () {
        if (follow.checked) {
          // the stream starts again with the last lines, so the view starts again too
          pending = [];
          out.textContent = "";
          count = 0;
          start();
        } else {
          stop();
          flush();
          say("Paused");
        }
      });
    }
    if (clear) {
      clear.addEventListener("click", function () {
        pending = [];
        out.textContent = "";
        count = 0;
      });
    }
    window.addEventListener("pagehide", stop);
    updateDownload();
    start();
  }

  function init() {
    Array.prototype.forEach.call(doc.querySelectorAll("[data-log-viewer]"), function (root) {
      if (root.hasAttribute("data-log-ready")) return;
      root.setAttribute("data-log-ready", "");
      setup(root);
    });
  }

  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", init);
  else init();
})();
