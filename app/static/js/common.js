/*
 * Helpers shared by the dashboard and the VPN page.
 *
 * Every string that comes from data is put into the page as text (textContent / text nodes),
 * never parsed as HTML. Polling schedules the next request only after the previous one finished,
 * aborts a request that takes too long, and pauses while the tab is hidden.
 */
(function () {
  "use strict";

  var DASH = "\u2014"; // shown for a missing value

  /** Create an element; `attrs` are set as attributes/properties, children are nodes or text. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === "className") node.className = value;
        else if (key === "text") node.textContent = String(value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function append(parent, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(parent, c); });
    } else if (child instanceof Node) {
      parent.appendChild(child);
    } else {
      parent.appendChild(document.createTextNode(String(child)));
    }
  }

  /** Replace the children of the element with id `id` (or the element itself). */
  function fill(target) {
    var node = typeof target === "string" ? document.getElementById(target) : target;
    if (!node) return null;
    node.replaceChildren();
    for (var i = 1; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  function setText(id, value) {
    var node = document.getElementById(id);
    if (node) node.textContent = value === undefined || value === null || value === "" ? DASH : String(value);
  }

  /** First defined, non-null value among `obj[key]` for the given keys (dotted paths allowed). */
  function pick(obj) {
    if (obj === null || obj === undefined) return undefined;
    for (var i = 1; i < arguments.length; i++) {
      var path = String(arguments[i]).split(".");
      var cur = obj;
      for (var j = 0; j < path.length && cur !== undefined && cur !== null; j++) cur = cur[path[j]];
      if (cur !== undefined && cur !== null) return cur;
    }
    return undefined;
  }

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  function num(v, digits, unit) {
    if (typeof v === "string" && v.trim() !== "" && isFinite(Number(v))) v = Number(v);
    if (!isNum(v)) return DASH;
    var text = v.toLocaleString("en-GB", {
      minimumFractionDigits: digits || 0,
      maximumFractionDigits: digits || 0,
    });
    return unit ? text + "\u00a0" + unit : text;
  }

  function bytes(v) {
    if (!isNum(v)) return DASH;
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return num(v, i === 0 ? 0 : 1, units[i]);
  }

  /** A duration in seconds as "45 s", "12 min", "3 h", "2 d". */
  function duration(seconds) {
    if (!isNum(seconds)) return DASH;
    var s = Math.max(0, seconds);
    if (s < 90) return Math.round(s) + " s";
    if (s < 90 * 60) return Math.round(s / 60) + " min";
    if (s < 48 * 3600) return Math.round(s / 3600) + " h";
    return Math.round(s / 86400) + " d";
  }

  function toDate(v) {
    if (v === undefined || v === null || v === "") return null;
    var d = typeof v === "number" ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
    return isNaN(d.getTime()) ? null : d;
  }

  function time(v) {
    var d = toDate(v);
    if (!d) return DASH;
    return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function dateTime(v) {
    var d = toDate(v);
    if (!d) return DASH;
    return d.toLocaleString("en-GB", {
      day: "2-digit",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
    });
  }

  /** "5 min ago" from a timestamp, or DASH. */
  function ago(v) {
    var d = toDate(v);
    if (!d) return DASH;
    return duration((Date.now() - d.getTime()) / 1000) + " ago";
  }

  /**
   * fetch() with a timeout. Resolves to {ok, status, data, headers, error}; never rejects.
   * `data` is the parsed JSON body when there is one.
   */
  function fetchJSON(url, options) {
    options = options || {};
    var controller = new AbortController();
    var timeoutMs = options.timeoutMs || 10000;
    var timer = setTimeout(function () { controller.abort(); }, timeoutMs);
    var init = {
      method: options.method || "GET",
      headers: { Accept: "application/json" },
      signal: controller.signal,
      credentials: "same-origin",
      cache: "no-store",
    };
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    return fetch(url, init)
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (e) {
            data = null;
          }
          return { ok: response.ok, status: response.status, data: data, headers: response.headers, error: null };
        });
      })
      .catch(function (err) {
        var timedOut = err && err.name === "AbortError";
        return {
          ok: false,
          status: 0,
          data: null,
          headers: null,
          error: timedOut ? "no answer within " + Math.round(timeoutMs / 1000) + " s" : "the app cannot be reached",
        };
      })
      .finally(function () { clearTimeout(timer); });
  }

  /** The `detail` of a FastAPI error body, as text. */
  function errorText(result) {
    if (result.error) return result.error;
    var detail = pick(result.data, "detail", "message", "error");
    if (typeof detail === "string") return detail + " (HTTP " + result.status + ")";
    if (Array.isArray(detail) && detail.length) {
      return detail.map(function (d) { return pick(d, "msg") || JSON.stringify(d); }).join("; ");
    }
    return "HTTP " + result.status;
  }

  /**
   * Run `task` (a function returning a promise) now and then every `intervalMs` after it finishes.
   * Never two at once; paused while the document is hidden; `refresh()` runs it now.
   */
  function poll(task, intervalMs) {
    var timer = null;
    var running = false;
    var again = false;
    var stopped = false;

    function schedule() {
      clearTimeout(timer);
      timer = null;
      if (!stopped && !document.hidden) timer = setTimeout(run, intervalMs);
    }

    function run() {
      if (stopped) return Promise.resolve();
      if (running) {
        again = true;
        return Promise.resolve();
      }
      clearTimeout(timer);
      running = true;
      return Promise.resolve()
        .then(task)
        .catch(function (err) {
          if (window.console) console.error(err);
        })
        .then(function () {
          running = false;
          if (again) {
            again = false;
            return run();
          }
          schedule();
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        timer = null;
      } else if (!running) {
        run();
      }
    });

    run();
    return {
      refresh: run,
      stop: function () {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  /** Mark a card's stale banner: shown with the age when `stale` is true. */
  function showStale(id, stale, ageSeconds, what) {
    var node = document.getElementById(id);
    if (!node) return;
    if (stale) {
      node.hidden = false;
      node.textContent =
        "Stale: " + (what || "data") + " is " + (isNum(ageSeconds) ? duration(ageSeconds) + " old" : "of unknown age") +
        " (the source did not answer; showing the last snapshot).";
    } else {
      node.hidden = true;
      node.textContent = "";
    }
  }

  /** A message in place of a card's content (errors, 403). */
  function notice(text, kind) {
    return el("p", { className: "notice" + (kind ? " " + kind : ""), role: "status" }, text);
  }

  /** Horizontal bar chart as a list: items [{label, value, text}]. */
  function bars(items, max) {
    var top = max || items.reduce(function (m, it) { return Math.max(m, isNum(it.value) ? it.value : 0); }, 0) || 1;
    return el(
      "ul",
      { className: "bars" },
      items.map(function (it) {
        var fillNode = el("div", { className: "fill" });
        fillNode.style.width = Math.max(0, Math.min(100, ((isNum(it.value) ? it.value : 0) / top) * 100)) + "%";
        return el(
          "li",
          null,
          el("span", { className: "label", title: it.label }, it.label),
          el("div", { className: "track", role: "presentation" }, fillNode),
          el("span", { className: "value" }, it.text !== undefined ? it.text : num(it.value))
        );
      })
    );
  }

  /**
   * A uPlot chart in `container` that follows the container's width.
   * Returns an object with `setData(data)`; creating it again replaces the old one.
   */
  function chart(container, makeOpts) {
    var plot = null;
    var lastData = null;
    function width() {
      return Math.max(200, Math.floor(container.clientWidth || 300));
    }
    function draw(data) {
      lastData = data;
      if (typeof uPlot === "undefined") {
        fill(container, notice("The chart library did not load."));
        return;
      }
      if (plot && container.contains(plot.root)) {
        plot.setData(data);
        return;
      }
      if (plot) plot.destroy();
      container.replaceChildren();
      plot = new uPlot(makeOpts(width()), data, container);
    }
    if (typeof ResizeObserver !== "undefined") {
      var pending = null;
      new ResizeObserver(function () {
        if (!plot || pending) return;
        pending = requestAnimationFrame(function () {
          pending = null;
          if (plot && Math.abs(plot.width - width()) > 2) plot.setSize({ width: width(), height: plot.height });
        });
      }).observe(container);
    }
    return {
      setData: draw,
      redraw: function () {
        if (plot) plot.redraw();
        else if (lastData) draw(lastData);
      },
      get plot() { return plot; },
    };
  }

  window.CF = {
    DASH: DASH,
    el: el,
    append: append,
    fill: fill,
    setText: setText,
    pick: pick,
    isNum: isNum,
    num: num,
    bytes: bytes,
    duration: duration,
    toDate: toDate,
    time: time,
    dateTime: dateTime,
    ago: ago,
    fetchJSON: fetchJSON,
    errorText: errorText,
    poll: poll,
    showStale: showStale,
    notice: notice,
    bars: bars,
    chart: chart,
  };
})();
