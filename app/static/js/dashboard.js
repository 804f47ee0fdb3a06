/*
 * The dashboard: price now and tariff period, the next 24 h of prices with the cheapest windows shaded,
 * weather and the comfort band, this week's production, and the freshness of every source.
 * Polled once a minute; each card shows its own error without hiding the others.
 */
(function () {
  "use strict";

  var CF = window.CF;
  var POLL_MS = 60000;
  var TIMEOUT_MS = 10000;

  var ENDPOINTS = {
    priceNow: "/bi/prices/current",
    prices: "/bi/prices?hours=24",
    windows: "/bi/prices/cheapest-windows?hours=24",
    weather: "/bi/weather/current",
    production: "/bi/production/summary?days=7",
    ready: "/ready",
  };

  function cardError(id, result) {
    if (result.ok) {
      CF.fill(id);
      return false;
    }
    CF.fill(id, CF.notice("Could not load: " + CF.errorText(result) + "."));
    return true;
  }

  function asList(data, keys) {
    if (Array.isArray(data)) return data;
    var list = CF.pick.apply(null, [data].concat(keys));
    return Array.isArray(list) ? list : [];
  }

  function priceOf(row) {
    return CF.pick(row, "price_eur_kwh", "price", "eur_kwh", "value");
  }

  function eurKwh(v, digits) {
    return CF.isNum(v) ? CF.num(v, digits === undefined ? 4 : digits, "€/kWh") : CF.DASH;
  }

  function setPeriodBadge(id, period) {
    var node = document.getElementById(id);
    if (!node) return;
    node.className = "badge" + (period ? " " + String(period).replace(/[^A-Za-z0-9]/g, "") : "");
    node.textContent = period ? "Tariff " + period : CF.DASH;
  }

  function renderPriceNow(result) {
    if (cardError("price-error", result)) return;
    var d = CF.pick(result.data, "current", "price") || result.data;
    if (d && typeof d !== "object") d = result.data;
    document.getElementById("price-now").textContent = eurKwh(priceOf(d));
    setPeriodBadge("tariff-period", CF.pick(d, "tariff_period", "period"));
    CF.setText("price-hour", CF.dateTime(CF.pick(d, "ts", "hour", "start")));
    CF.setText("price-source", CF.pick(d, "source"));
  }

  /* ---- 24 h price chart ---------------------------------------------------------------------- */

  var priceChart = null;
  var cheapWindows = [];

  function windowBounds(w) {
    var start = CF.toDate(CF.pick(w, "start", "starts_at", "from", "start_ts"));
    var end = CF.toDate(CF.pick(w, "end", "ends_at", "to", "end_ts"));
    if (start && !end) {
      var hours = CF.pick(w, "hours", "duration_hours");
      end = new Date(start.getTime() + (CF.isNum(hours) ? hours : 1) * 3600000);
    }
    return start && end ? [start.getTime() / 1000, end.getTime() / 1000] : null;
  }

  function shadeWindows(u) {
    var ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = "rgba(29, 122, 58, 0.16)";
    cheapWindows.forEach(function (w) {
      var b = windowBounds(w);
      if (!b) return;
      var left = u.bbox.left;
      var right = u.bbox.left + u.bbox.width;
      var x0 = Math.max(left, u.valToPos(b[0], "x", true));
      var x1 = Math.min(right, u.valToPos(b[1], "x", true));
      if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
    });
    ctx.restore();
  }

  function chartOptions(width) {
    return {
      width: width,
      height: 220,
      tzDate: function (ts) { return new Date(ts * 1000); },
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: "#6b5a4e", grid: { stroke: "#eee6df" } },
        { stroke: "#6b5a4e", grid: { stroke: "#eee6df" }, size: 56, values: function (u, vals) {
          return vals.map(function (v) { return v.toFixed(2); });
        } },
      ],
      series: [
        { label: "Hour" },
        {
          label: "€/kWh",
          stroke: "#7b3f00",
          width: 2,
          fill: "rgba(123, 63, 0, 0.08)",
          paths: typeof uPlot !== "undefined" && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
          value: function (u, v) { return v === null || v === undefined ? "—" : v.toFixed(4); },
        },
      ],
      hooks: { drawClear: [shadeWindows] },
    };
  }

  function renderPrices(pricesResult, windowsResult) {
    var failed = cardError("prices-error", pricesResult);
    if (!failed && !windowsResult.ok) {
      CF.fill("prices-error", CF.notice("Could not load the cheapest windows: " + CF.errorText(windowsResult) + "."));
    }
    cheapWindows = windowsResult.ok ? asList(windowsResult.data, ["windows", "items", "cheapest_windows"]) : [];

    var rows = pricesResult.ok ? asList(pricesResult.data, ["prices", "items", "series", "points"]) : [];
    var xs = [];
    var ys = [];
    rows.forEach(function (row) {
      var t = CF.toDate(CF.pick(row, "ts", "hour", "start", "time"));
      var p = priceOf(row);
      if (t && CF.isNum(p)) {
        xs.push(t.getTime() / 1000);
        ys.push(p);
      }
    });
    if (xs.length > 0) {
      // each price holds for its hour: repeat the last one at the end of its hour
      xs.push(xs[xs.length - 1] + 3600);
      ys.push(ys[ys.length - 1]);
    }
    var container = document.getElementById("price-chart");
    if (xs.length === 0) {
      priceChart = null;
      CF.fill(container, CF.el("p", { className: "muted" }, failed ? "" : "No prices stored for the next 24 hours yet."));
    } else {
      if (!priceChart || !container.querySelector(".uplot")) priceChart = CF.chart(container, chartOptions);
      priceChart.setData([xs, ys]);
    }

    var list = document.getElementById("cheap-windows");
    if (cheapWindows.length === 0) {
      CF.fill(list, CF.el("li", null, windowsResult.ok ? "No window found in the next 24 hours." : CF.DASH));
      return;
    }
    CF.fill(
      list,
      cheapWindows.map(function (w) {
        var start = CF.pick(w, "start", "starts_at", "from", "start_ts");
        var end = CF.pick(w, "end", "ends_at", "to", "end_ts");
        var avg = CF.pick(w, "avg_price_eur_kwh", "mean_price_eur_kwh", "average_price_eur_kwh", "price_eur_kwh");
        var period = CF.pick(w, "tariff_period", "period");
        var periods = CF.pick(w, "tariff_periods");
        if (!period && Array.isArray(periods) && periods.length) {
          period = periods.filter(function (p, i) { return periods.indexOf(p) === i; }).join("/");
        }
        return CF.el(
          "li",
          null,
          CF.dateTime(start) + "–" + CF.time(end) + " · average " + eurKwh(avg) + (period ? " · " + period : "")
        );
      })
    );
  }

  /* ---- weather ------------------------------------------------------------------------------- */

  function renderWeather(result) {
    if (cardError("weather-error", result)) return;
    var d = CF.pick(result.data, "current", "weather") || result.data;
    var temp = CF.pick(d, "temperature_c", "temperature", "temp_c");
    var band = CF.pick(result.data, "comfort_band", "band") || CF.pick(d, "comfort_band") || {};
    var low = CF.pick(d, "comfort_min_c") !== undefined ? d.comfort_min_c : CF.pick(band, "min_c", "low_c", "min", "low");
    var high = CF.pick(d, "comfort_max_c") !== undefined ? d.comfort_max_c : CF.pick(band, "max_c", "high_c", "max", "high");
    if (!CF.isNum(low)) low = 15;
    if (!CF.isNum(high)) high = 22;
    document.getElementById("weather-temp").textContent = CF.num(temp, 1, "°C");
    CF.setText("weather-humidity", CF.num(CF.pick(d, "humidity_pct", "humidity"), 0, "%"));
    CF.setText("weather-comfort", CF.num(low, 0) + "–" + CF.num(high, 0) + " °C");
    CF.setText("weather-time", CF.dateTime(CF.pick(d, "ts", "time", "observed_at")));
    var status = CF.pick(result.data, "status", "comfort") || CF.pick(d, "comfort_status", "status");
    var node = document.getElementById("weather-band");
    var text;
    var kind;
    if (!CF.isNum(temp)) {
      text = CF.DASH;
      kind = "";
    } else if (temp < low) {
      text = "Below comfort band";
      kind = "warn";
    } else if (temp > high) {
      text = "Above comfort band";
      kind = "bad";
    } else {
      text = "In comfort band";
      kind = "ok";
    }
    if (typeof status === "string" && !CF.isNum(temp)) text = status;
    node.className = "badge" + (kind ? " " + kind : "");
    node.textContent = text;
  }

  /* ---- production ---------------------------------------------------------------------------- */

  function renderProduction(result) {
    if (cardError("production-error", result)) return;
    var d = CF.pick(result.data, "summary", "production") || result.data;
    var kg = CF.pick(d, "kg", "total_kg");
    var kwh = CF.pick(d, "kwh", "total_kwh");
    var perKg = CF.pick(d, "kwh_per_kg", "energy_per_kg_kwh");
    if (!CF.isNum(perKg) && CF.isNum(kg) && CF.isNum(kwh) && kg > 0) perKg = kwh / kg;
    CF.setText("prod-kg", CF.num(kg, 0, "kg"));
    CF.setText("prod-kwh", CF.num(kwh, 0, "kWh"));
    CF.setText("prod-kwh-kg", CF.num(perKg, 2, "kWh/kg"));
    CF.setText("prod-eur-kg", CF.num(CF.pick(d, "eur_per_kg", "energy_cost_eur_per_kg", "cost_per_kg_eur"), 3, "€/kg"));
    CF.setText("prod-batches", CF.num(CF.pick(d, "batches", "batch_count", "count")));
    var from = CF.pick(d, "start", "from", "period_start", "since");
    var to = CF.pick(d, "end", "to", "period_end", "until");
    document.getElementById("prod-period").textContent = from ? "From " + CF.dateTime(from) + " to " + CF.dateTime(to || Date.now()) : "";
  }

  /* ---- freshness ----------------------------------------------------------------------------- */

  function sourcesOf(data) {
    var sources = CF.pick(data, "sources", "freshness", "data");
    if (Array.isArray(sources)) return sources;
    if (sources && typeof sources === "object") {
      return Object.keys(sources).map(function (name) {
        var v = sources[name];
        return typeof v === "object" && v !== null ? Object.assign({ name: name }, v) : { name: name, newest: v };
      });
    }
    return [];
  }

  var STATUS_KIND = { fresh: "ok", present: "ok", stale: "bad", empty: "warn", sample: "warn", disabled: "" };

  function sourceName(s) {
    var dataset = CF.pick(s, "dataset");
    var name = CF.pick(s, "name", "source");
    if (dataset && name && dataset !== name) return dataset + " (" + name + ")";
    return String(dataset || name || CF.DASH);
  }

  function renderFreshness(result) {
    // /ready answers 503 with the same body when something is not ready: still show it.
    var sources = sourcesOf(result.data);
    if (!result.ok && (result.status !== 503 || !result.data)) {
      cardError("freshness-error", result);
      return;
    }
    CF.fill("freshness-error");
    var tbody = document.getElementById("freshness-rows");
    if (sources.length === 0) {
      CF.fill(tbody, CF.el("tr", null, CF.el("td", { colspan: 3 }, "No source reports yet.")));
      return;
    }
    CF.fill(
      tbody,
      sources.map(function (s) {
        var newest = CF.pick(s, "newest_ts", "newest", "latest", "last_ts");
        var fetched = CF.pick(s, "last_fetched_at", "fetched_at");
        var age = CF.pick(s, "age_seconds", "age_s", "age");
        if (!CF.isNum(age) && CF.toDate(fetched || newest)) age = (Date.now() - CF.toDate(fetched || newest).getTime()) / 1000;
        var status = CF.pick(s, "status");
        if (!status) status = CF.pick(s, "stale") === true ? "stale" : CF.pick(s, "stale") === false ? "fresh" : "";
        var when = newest ? CF.dateTime(newest) : CF.DASH;
        if (CF.isNum(age)) when += " · delivered " + CF.duration(age) + " ago";
        return CF.el(
          "tr",
          { "data-source": sourceName(s) },
          CF.el("th", { scope: "row" }, sourceName(s)),
          CF.el("td", null, when),
          CF.el("td", null, CF.el("span", { className: "badge " + (STATUS_KIND[status] || "") }, status || CF.DASH))
        );
      })
    );
  }

  /* ---- refresh ------------------------------------------------------------------------------- */

  function get(url) {
    return CF.fetchJSON(url, { timeoutMs: TIMEOUT_MS });
  }

  function refresh() {
    return Promise.all([
      get(ENDPOINTS.priceNow).then(renderPriceNow),
      Promise.all([get(ENDPOINTS.prices), get(ENDPOINTS.windows)]).then(function (r) {
        renderPrices(r[0], r[1]);
      }),
      get(ENDPOINTS.weather).then(renderWeather),
      get(ENDPOINTS.production).then(renderProduction),
      get(ENDPOINTS.ready).then(renderFreshness),
    ]).then(function () {
      document.getElementById("updated-at").textContent = CF.time(Date.now());
      document.body.setAttribute("data-loaded", "true");
    });
  }

  function start() {
    CF.poll(refresh, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
