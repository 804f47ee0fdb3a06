/*
 * Helpers shared by the dashboard and the VPN page.
 *
 * Language: the server picks it (cookie `cf_lang`, else Accept-Language, else Spanish), sets
 * <html lang> and embeds that language's catalogue (app/i18n/<lang>.json) as a JSON data block;
 * `t(key)` reads it and `[data-i18n]` elements are filled from it. Numbers use es-ES or en-GB
 * formats; every date and time is shown in Madrid time (Europe/Madrid), whatever the browser's zone.
 *
 * Every string that comes from data is put into the page as text (textContent / text nodes),
 * never parsed as HTML; names go into <bdi> with bidirectional control characters made visible.
 * Polling schedules the next request only after the previous one finished, aborts a request that
 * takes too long, and pauses while the tab is hidden.
 */
(function () {
  "use strict";

  var DASH = "\u2014"; // shown for a missing value
  var ZONE = "Europe/Madrid";
  var LANG = document.documentElement.lang === "en" ? "en" : "es";
  var LOCALE = LANG === "en" ? "en-GB" : "es-ES";
  var COOKIE = "cf_lang";

  /* ---- language -------------------------------------------------------------------------------- */

  function readCatalogue() {
    var node = document.getElementById("i18n");
    try {
      return node ? JSON.parse(node.textContent) : {};
    } catch (e) {
      return {};
    }
  }

  var catalogue = readCatalogue();
  var missing = [];

  /** The catalogue's text for `key`, with `{name}` replaced from `params`. A missing key is reported. */
  function t(key, params) {
    if (!Object.prototype.hasOwnProperty.call(catalogue, key)) {
      if (missing.indexOf(key) === -1) {
        missing.push(key);
        if (window.console) console.error("missing translation: " + key);
      }
      return key;
    }
    var text = catalogue[key];
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
      });
    }
    return text;
  }

  /** Fill `[data-i18n]` text and `[data-i18n-attr="attr:key;attr:key"]` attributes under `root`. */
  function translate(root) {
    root = root || document;
    root.querySelectorAll("[data-i18n]").forEach(function (node) {
      node.textContent = t(node.getAttribute("data-i18n"));
    });
    root.querySelectorAll("[data-i18n-attr]").forEach(function (node) {
      node.getAttribute("data-i18n-attr").split(";").forEach(function (pair) {
        var parts = pair.split(":");
        if (parts.length === 2) node.setAttribute(parts[0].trim(), t(parts[1].trim()));
      });
    });
    var title = document.querySelector("title[data-i18n]");
    if (title) document.title = title.textContent;
  }

  /** The language switch: remember the choice for a year and load the page again in it. */
  function languageSwitch() {
    document.querySelectorAll("[data-set-lang]").forEach(function (button) {
      var lang = button.getAttribute("data-set-lang");
      button.setAttribute("aria-pressed", lang === LANG ? "true" : "false");
      button.addEventListener("click", function () {
        document.cookie = COOKIE + "=" + lang + "; path=/; max-age=31536000; SameSite=Lax";
        window.location.reload();
      });
    });
  }

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
    var text = v.toLocaleString(LOCALE, {
      minimumFractionDigits: digits || 0,
      maximumFractionDigits: digits || 0,
    });
    return unit ? text + "\u00a0" + unit : text;
  }

  /** An amount in euros as the language writes it: "€27.90" in English, "27,90 €" in Spanish. */
  function eur(v, digits) {
    if (typeof v === "string" && v.trim() !== "" && isFinite(Number(v))) v = Number(v);
    if (!isNum(v)) return DASH;
    digits = digits === undefined ? 2 : digits;
    return v.toLocaleString(LOCALE, {
      style: "currency",
      currency: "EUR",
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
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

  /** A duration in seconds as "45 s", "12 min", "3 h", "2 d" (días). */
  function duration(seconds) {
    if (!isNum(seconds)) return DASH;
    var s = Math.max(0, seconds);
    if (s < 90) return t("unit.seconds", { n: Math.round(s) });
    if (s < 90 * 60) return t("unit.minutes", { n: Math.round(s / 60) });
    if (s < 48 * 3600) return t("unit.hours", { n: Math.round(s / 3600) });
    return t("unit.days", { n: Math.round(s / 86400) });
  }

  function toDate(v) {
    if (v === undefined || v === null || v === "") return null;
    var d = typeof v === "number" ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
    return isNaN(d.getTime()) ? null : d;
  }

  var formats = {};
  /** An Intl.DateTimeFormat in the page's language and Madrid time, made once per option set. */
  function madridFormat(name, options) {
    if (!formats[name]) {
      formats[name] = new Intl.DateTimeFormat(LOCALE, Object.assign({ timeZone: ZONE }, options));
    }
    return formats[name];
  }

  function formatWith(name, options) {
    return function (v) {
      var d = toDate(v);
      return d ? madridFormat(name, options).format(d) : DASH;
    };
  }

  /** "14:05" */
  var time = formatWith("time", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  /** "3 dic, 14:05" / "3 Dec, 14:05" */
  var dateTime = formatWith("dateTime", {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  /** "mié, 3 dic" / "Wed 3 Dec" */
  var day = formatWith("day", { weekday: "short", day: "numeric", month: "short" });
  /** "3 dic" / "3 Dec" */
  var shortDate = formatWith("shortDate", { day: "numeric", month: "short" });

  /** "CET" or "CEST": the Madrid zone's name at that moment. */
  function zoneName(v) {
    var d = toDate(v);
    if (!d) return "";
    var part = madridFormat("zone", { timeZoneName: "short" })
      .formatToParts(d)
      .filter(function (p) { return p.type === "timeZoneName"; })[0];
    return part ? part.value : "";
  }

  /** {year, month, day, hour, minute} of a moment in Madrid. */
  function madridParts(d) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: ZONE,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(d)
      .forEach(function (p) { parts[p.type] = Number(p.value); });
    return parts;
  }

  /** Minutes Madrid is ahead of UTC at the moment `ms` (60 in winter, 120 in summer). */
  function madridOffsetMinutes(ms) {
    var p = madridParts(new Date(ms));
    return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - ms) / 60000);
  }

  /** The moment Madrid's calendar day `isoDate` ("2026-10-25") begins. */
  function madridMidnight(isoDate) {
    var bits = String(isoDate).split("-").map(Number);
    var wall = Date.UTC(bits[0], bits[1] - 1, bits[2]);
    var ms = wall - madridOffsetMinutes(wall) * 60000;
    return new Date(wall - madridOffsetMinutes(ms) * 60000);
  }

  /** Today's date in Madrid, "YYYY-MM-DD". */
  function madridToday() {
    var p = madridParts(new Date());
    return isoDate(p.year, p.month, p.day);
  }

  function isoDate(year, month, dayOfMonth) {
    return year + "-" + String(month).padStart(2, "0") + "-" + String(dayOfMonth).padStart(2, "0");
  }

  /** `isoDate` moved by `days` calendar days. */
  function addDays(date, days) {
    var bits = String(date).split("-").map(Number);
    var d = new Date(Date.UTC(bits[0], bits[1] - 1, bits[2] + days));
    return isoDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
  }

  /** "5 min ago" / "hace 5 min" from a timestamp, or DASH. */
  function ago(v) {
    var d = toDate(v);
    if (!d) return DASH;
    return t("time.ago", { duration: duration((Date.now() - d.getTime()) / 1000) });
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
          error: timedOut
            ? t("error.timeout", { seconds: Math.round(timeoutMs / 1000) })
            : t("error.unreachable"),
        };
      })
      .finally(function () { clearTimeout(timer); });
  }

  /** The `detail` of a FastAPI error body, as text. */
  function errorText(result) {
    if (result.error) return result.error;
    var detail = pick(result.data, "detail", "message", "error");
    if (typeof detail === "string") return detail;
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
      node.textContent = isNum(ageSeconds)
        ? t("stale.aged", { what: what, age: duration(ageSeconds) })
        : t("stale.unknown_age", { what: what });
    } else {
      node.hidden = true;
      node.textContent = "";
    }
  }

  /** A message in place of a card's content (errors, 403). */
  function notice(text, kind) {
    return el("p", { className: "notice" + (kind ? " " + kind : ""), role: "status" }, text);
  }

  /** What is missing and how to get it: a neutral note, not an error. */
  function empty(text) {
    return el("p", { className: "empty", role: "status" }, text);
  }

  // Characters that reorder text around them (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM).
  var BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

  /**
   * A name from data (host, login, product) as an isolated <bdi>: cut with an ellipsis by CSS, the full
   * name in its title, and any bidirectional control shown as its code point so it cannot reorder
   * what is displayed (a "\u202E" override would otherwise make "exe.gnp" read "png.exe").
   */
  function name(text) {
    var value = text === undefined || text === null || text === "" ? DASH : String(text);
    var shown = value.replace(BIDI_CONTROLS, function (c) {
      return "[U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "]";
    });
    return el("bdi", { className: "name", title: shown, dir: "auto" }, shown);
  }

  /** Mark the elements with ids as loading (skeleton blocks) until their card's data arrives. */
  function loading(ids) {
    ids.forEach(function (id) {
      var node = document.getElementById(id);
      if (!node) return;
      var block = el("span", { className: "skeleton", "aria-hidden": "true" });
      if (node.tagName === "TBODY") block = el("tr", null, el("td", { colspan: 99 }, block));
      else if (node.tagName === "OL" || node.tagName === "UL") block = el("li", null, block);
      fill(node, block);
    });
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
          el("span", { className: "label" }, name(it.label)),
          el("div", { className: "track", role: "presentation" }, fillNode),
          el("span", { className: "value" }, it.text !== undefined ? it.text : num(it.value))
        );
      })
    );
  }

  /* ---- chart helpers (uPlot) --------------------------------------------------------------------- */

  var INK = { axis: "#6b5a4e", grid: "#eee6df", now: "#1a4f94" };

  /** uPlot's `tzDate`: time ticks fall on Madrid hours and midnights (uPlot's own tzDate helper). */
  function madridTzDate(ts) {
    return uPlot.tzDate(new Date(ts * 1000), ZONE);
  }

  /** Time-axis labels in Madrid time: "14:00" within days (the date at midnight), "3 dic" beyond. */
  function timeAxisValues(u, splits, axisIdx, foundSpace, foundIncr) {
    return splits.map(function (s) {
      if (foundIncr >= 86400) return shortDate(s * 1000);
      var p = madridParts(new Date(s * 1000));
      return p.hour === 0 && p.minute === 0 ? shortDate(s * 1000) : time(s * 1000);
    });
  }

  /** An x axis of Madrid times and a y axis whose label names the unit. */
  function timeAxes(unit, formatY) {
    return [
      { stroke: INK.axis, grid: { stroke: INK.grid }, values: timeAxisValues, space: 60 },
      {
        stroke: INK.axis,
        grid: { stroke: INK.grid },
        size: 64,
        label: unit,
        labelSize: 20,
        values: function (u, vals) { return vals.map(formatY); },
      },
    ];
  }

  /** A draw hook: a dashed vertical line labelled "now" when the current moment is on the chart. */
  function drawNow(u) {
    var now = Date.now() / 1000;
    var shown = now >= u.scales.x.min && now <= u.scales.x.max;
    u.root.parentNode && u.root.parentNode.setAttribute("data-now-shown", shown ? "true" : "false");
    if (!shown) return;
    var ctx = u.ctx;
    var ratio = window.devicePixelRatio || 1;
    var x = Math.round(u.valToPos(now, "x", true));
    ctx.save();
    ctx.strokeStyle = INK.now;
    ctx.fillStyle = INK.now;
    ctx.lineWidth = 2 * ratio;
    ctx.setLineDash([5 * ratio, 4 * ratio]);
    ctx.beginPath();
    ctx.moveTo(x, u.bbox.top);
    ctx.lineTo(x, u.bbox.top + u.bbox.height);
    ctx.stroke();
    ctx.font = "600 " + 12 * ratio + "px system-ui, sans-serif";
    var label = t("chart.now");
    var width = ctx.measureText(label).width;
    var right = x + 4 * ratio + width <= u.bbox.left + u.bbox.width;
    ctx.fillText(label, right ? x + 4 * ratio : x - 4 * ratio - width, u.bbox.top + 12 * ratio);
    ctx.restore();
  }

  /** A chart legend that stays visible at any width: items [{kind, text}] (kind picks the swatch). */
  function legend(items) {
    return el(
      "ul",
      { className: "chart-legend" },
      items.map(function (it) {
        return el("li", null, el("span", { className: "swatch " + it.kind, "aria-hidden": "true" }), it.text);
      })
    );
  }

  /** A uPlot `setCursor` hook writing "time · value" of the hovered point into `node`. */
  function readout(node, format) {
    return function (u) {
      var i = u.cursor.idx;
      if (i === null || i === undefined || !u.data[0] || u.data[0][i] === undefined) {
        node.textContent = "";
        return;
      }
      node.textContent = format(u.data, i);
    };
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
        fill(container, notice(t("error.chart_library")));
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

  function start() {
    translate(document);
    languageSwitch();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  window.CF = {
    DASH: DASH,
    ZONE: ZONE,
    LANG: LANG,
    LOCALE: LOCALE,
    t: t,
    translate: translate,
    missingTranslations: missing,
    day: day,
    shortDate: shortDate,
    zoneName: zoneName,
    madridMidnight: madridMidnight,
    madridToday: madridToday,
    addDays: addDays,
    empty: empty,
    name: name,
    madridTzDate: madridTzDate,
    timeAxes: timeAxes,
    drawNow: drawNow,
    legend: legend,
    readout: readout,
    loading: loading,
    el: el,
    append: append,
    fill: fill,
    setText: setText,
    pick: pick,
    isNum: isNum,
    num: num,
    eur: eur,
    bytes: bytes,
    duration: duration,
    toDate: toDate,
    time: time,
    dateTime: dateTime,
    shortDate: shortDate,
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
