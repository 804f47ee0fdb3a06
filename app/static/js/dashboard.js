/*
 * The dashboard: price now and its tariff period; prices of the chosen period with the cheapest windows
 * shaded; the 48 h weather forecast against the comfort band; production of the period with its € cost,
 * € per kg and the split per product; the freshness of every source.
 *
 * The period (today, tomorrow, 7 days, 30 days or a custom range of Madrid days) is kept in the URL
 * (?period=7d, ?period=custom&from=2026-11-01&to=2026-11-07) so a view can be shared. Polled once a
 * minute; each card shows its own loading, empty or error state without hiding the others.
 */
(function () {
  "use strict";

  var CF = window.CF;
  var t = CF.t;
  var POLL_MS = 60000;
  var TIMEOUT_MS = 10000;
  var FORECAST_HOURS = 48;
  var WINDOWS_WITHIN_HOURS = 24;
  var MAX_CUSTOM_DAYS = 93; // /bi/prices answers at most 93 days at once
  var PERIODS = ["today", "tomorrow", "7d", "30d", "custom"];
  var DATE = /^\d{4}-\d{2}-\d{2}$/;

  function get(url) {
    return CF.fetchJSON(url, { timeoutMs: TIMEOUT_MS });
  }

  /** Show a load error in the card's error slot; true when the result is not usable. */
  function cardError(id, result) {
    if (result.ok) {
      CF.fill(id);
      return false;
    }
    CF.fill(id, CF.notice(t("error.load", { detail: CF.errorText(result) })));
    return true;
  }

  function eurKwh(v, digits) {
    return CF.num(v, digits === undefined ? 4 : digits, "€/kWh");
  }

  function withZone(ts) {
    return CF.dateTime(ts) + " " + CF.zoneName(ts);
  }

  /* ---- period -------------------------------------------------------------------------------- */

  var period = null;

  /** The period in the URL, or today. */
  function periodFromUrl() {
    var q = new URLSearchParams(window.location.search);
    var kind = q.get("period");
    if (PERIODS.indexOf(kind) === -1) kind = "today";
    var from = q.get("from");
    var to = q.get("to");
    if (kind === "custom" && !(DATE.test(from || "") && DATE.test(to || "") && from <= to)) kind = "today";
    return { kind: kind, from: from, to: to };
  }

  /** First and last Madrid day of the period, and the instants [start, end) they cover. */
  function periodRange(p) {
    var today = CF.madridToday();
    var first = today;
    var last = today;
    if (p.kind === "tomorrow") first = last = CF.addDays(today, 1);
    else if (p.kind === "7d") first = CF.addDays(today, -6);
    else if (p.kind === "30d") first = CF.addDays(today, -29);
    else if (p.kind === "custom") {
      first = p.from;
      last = p.to;
    }
    return { first: first, last: last, start: CF.madridMidnight(first), end: CF.madridMidnight(CF.addDays(last, 1)) };
  }

  function periodQuery(range) {
    return "start=" + encodeURIComponent(range.start.toISOString()) + "&end=" + encodeURIComponent(range.end.toISOString());
  }

  function periodLabel(p, range) {
    var first = CF.day(range.start);
    var last = CF.day(new Date(range.end.getTime() - 3600000));
    var days = first === last ? first : t("period.range", { first: first, last: last });
    return t("period.label_" + p.kind, { days: days });
  }

  function showPeriodForm(p) {
    document.querySelectorAll("#period-form input[name=period]").forEach(function (input) {
      input.checked = input.value === p.kind;
    });
    var range = periodRange(p);
    document.getElementById("period-custom").hidden = p.kind !== "custom";
    document.getElementById("period-from").value = range.first;
    document.getElementById("period-to").value = range.last;
    document.getElementById("period-label").textContent = periodLabel(p, range);
  }

  function setPeriod(p) {
    period = p;
    var q = new URLSearchParams(window.location.search);
    q.set("period", p.kind);
    if (p.kind === "custom") {
      q.set("from", p.from);
      q.set("to", p.to);
    } else {
      q.delete("from");
      q.delete("to");
    }
    history.replaceState(null, "", window.location.pathname + "?" + q.toString());
    showPeriodForm(p);
    CF.fill("period-error");
    CF.loading(["prices-min", "prices-avg", "prices-max", "prod-kg", "prod-kwh", "prod-kwh-kg", "prod-cost", "prod-eur-kg", "prod-batches"]);
    return refreshPeriod();
  }

  /** The custom range from the form, or an error naming the field to fix. */
  function customFromForm() {
    var from = document.getElementById("period-from").value;
    var to = document.getElementById("period-to").value;
    if (!DATE.test(from)) return { error: t("period.error_from") };
    if (!DATE.test(to)) return { error: t("period.error_to") };
    if (to < from) return { error: t("period.error_order") };
    var days = (Date.parse(to) - Date.parse(from)) / 86400000 + 1;
    if (days > MAX_CUSTOM_DAYS) return { error: t("period.error_too_long", { days: MAX_CUSTOM_DAYS }) };
    return { kind: "custom", from: from, to: to };
  }

  function wirePeriodForm() {
    var form = document.getElementById("period-form");
    form.addEventListener("change", function (event) {
      if (event.target.name !== "period") return;
      if (event.target.value === "custom") {
        document.getElementById("period-custom").hidden = false;
        document.getElementById("period-from").focus();
        return;
      }
      setPeriod({ kind: event.target.value });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var custom = customFromForm();
      if (custom.error) {
        CF.fill("period-error", CF.notice(custom.error));
        return;
      }
      setPeriod(custom);
    });
  }

  /* ---- price now ----------------------------------------------------------------------------- */

  function setTariffBadge(node, tariff) {
    node.className = "badge" + (tariff ? " " + String(tariff).replace(/[^A-Za-z0-9]/g, "") : "");
    node.textContent = tariff ? t("price.tariff", { period: tariff }) : "";
    node.hidden = !tariff;
  }

  function renderPriceNow(result) {
    var value = document.getElementById("price-now");
    var badge = document.getElementById("tariff-period");
    var meta = document.getElementById("price-meta");
    if (result.status === 404) {
      CF.fill("price-error", CF.empty(t("price.empty")));
      value.textContent = "";
      setTariffBadge(badge, null);
      meta.textContent = "";
      return;
    }
    if (cardError("price-error", result)) {
      value.textContent = CF.DASH;
      setTariffBadge(badge, null);
      return;
    }
    var d = result.data;
    value.textContent = eurKwh(d.price_eur_kwh);
    setTariffBadge(badge, d.tariff_period);
    meta.textContent = t("price.meta", { hour: CF.time(d.ts), source: t("source." + d.source) });
  }

  /* ---- prices of the period ------------------------------------------------------------------ */

  var priceChart = null;
  var cheapWindows = [];
  var chartRange = null;

  function shadeWindows(u) {
    var ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = "rgba(29, 122, 58, 0.18)";
    cheapWindows.forEach(function (w) {
      var x0 = Math.max(u.bbox.left, u.valToPos(Date.parse(w.start) / 1000, "x", true));
      var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(Date.parse(w.end) / 1000, "x", true));
      if (x1 > x0) ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
    });
    ctx.restore();
  }

  function priceChartOptions(width) {
    var readout = document.getElementById("price-readout");
    return {
      width: width,
      height: 240,
      tzDate: CF.madridTzDate,
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      scales: {
        x: { time: true, range: function () { return [chartRange.start / 1000, chartRange.end / 1000]; } },
      },
      axes: CF.timeAxes("€/kWh", function (v) { return CF.num(v, 2); }),
      series: [
        {},
        {
          label: t("prices.series"),
          stroke: "#7b3f00",
          width: 2,
          fill: "rgba(123, 63, 0, 0.08)",
          paths: uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
        },
      ],
      hooks: {
        drawClear: [shadeWindows],
        draw: [CF.drawNow],
        setCursor: [
          CF.readout(readout, function (data, i) {
            return withZone(data[0][i] * 1000) + " · " + eurKwh(data[1][i]);
          }),
        ],
      },
    };
  }

  function renderPriceSummary(data) {
    CF.setText("prices-min", eurKwh(data.min_price_eur_kwh));
    CF.setText("prices-avg", eurKwh(data.avg_price_eur_kwh));
    CF.setText("prices-max", eurKwh(data.max_price_eur_kwh));
  }

  function renderPrices(result, range) {
    var container = document.getElementById("price-chart");
    var rowsNode = document.getElementById("prices-rows");
    if (cardError("prices-error", result)) {
      renderPriceSummary({});
      return;
    }
    var prices = result.data.prices;
    renderPriceSummary(result.data);
    if (prices.length === 0) {
      priceChart = null;
      CF.fill(container, CF.empty(t("prices.empty")));
      CF.fill(rowsNode, CF.el("tr", null, CF.el("td", { colspan: 3 }, t("prices.empty_short"))));
      return;
    }
    var xs = prices.map(function (p) { return Date.parse(p.ts) / 1000; });
    var ys = prices.map(function (p) { return p.price_eur_kwh; });
    // each price holds for its hour: repeat the last one at the end of its hour
    xs.push(xs[xs.length - 1] + 3600);
    ys.push(ys[ys.length - 1]);
    chartRange = range;
    if (!priceChart || !container.querySelector(".uplot")) {
      container.replaceChildren();
      priceChart = CF.chart(container, priceChartOptions);
    }
    priceChart.setData([xs, ys]);
    CF.fill(
      rowsNode,
      prices.map(function (p) {
        return CF.el(
          "tr",
          null,
          CF.el("td", null, withZone(p.ts)),
          CF.el("td", { className: "num" }, eurKwh(p.price_eur_kwh)),
          CF.el("td", null, p.tariff_period)
        );
      })
    );
  }

  function priceLegend(windowHours) {
    CF.fill(
      "price-legend",
      CF.legend([
        { kind: "price", text: t("prices.series") },
        { kind: "cheap", text: windowHours ? t("prices.legend_windows", { hours: windowHours }) : t("windows.title_unknown") },
        { kind: "now", text: t("chart.now") },
      ])
    );
  }

  /** The cheapest windows of the next hours: listed with their length, shaded on the price chart. */
  function renderWindows(result) {
    var list = document.getElementById("cheap-windows");
    var title = document.getElementById("windows-title");
    if (!result.ok) {
      cheapWindows = [];
      title.textContent = t("windows.title_unknown");
      priceLegend(null);
      CF.fill(list, CF.el("li", null, CF.notice(t("error.load", { detail: CF.errorText(result) }))));
      return;
    }
    var d = result.data;
    cheapWindows = d.windows;
    if (priceChart) priceChart.redraw();
    priceLegend(d.duration_hours);
    title.textContent = t("windows.title", { hours: d.duration_hours, within: d.within_hours });
    if (cheapWindows.length === 0) {
      CF.fill(list, CF.el("li", { className: "empty" }, t("windows.empty", { hours: d.duration_hours })));
    } else {
      CF.fill(
        list,
        cheapWindows.map(function (w) {
          var periods = w.tariff_periods.filter(function (p, i, all) { return all.indexOf(p) === i; }).join("/");
          return CF.el(
            "li",
            null,
            t("windows.item", {
              start: withZone(w.start),
              end: CF.time(w.end),
              hours: w.hours,
              price: eurKwh(w.avg_price_eur_kwh),
              periods: periods,
            })
          );
        })
      );
    }
  }

  /* ---- weather now and the forecast ---------------------------------------------------------- */

  var COMFORT = { below: "warn", within: "ok", above: "bad" };

  function renderWeather(result) {
    var temp = document.getElementById("weather-temp");
    var badge = document.getElementById("weather-band");
    if (result.status === 404) {
      CF.fill("weather-error", CF.empty(t("weather.empty")));
      temp.textContent = "";
      badge.hidden = true;
      ["weather-humidity", "weather-comfort", "weather-time"].forEach(function (id) {
        document.getElementById(id).textContent = "";
      });
      document.getElementById("weather-facts").hidden = true;
      return;
    }
    if (cardError("weather-error", result)) return;
    document.getElementById("weather-facts").hidden = false;
    var d = result.data;
    temp.textContent = CF.num(d.temperature_c, 1, "°C");
    CF.setText("weather-humidity", CF.num(d.humidity_pct, 0, "%"));
    CF.setText("weather-comfort", CF.num(d.comfort_min_c, 0) + "–" + CF.num(d.comfort_max_c, 0) + " °C");
    CF.setText("weather-time", CF.time(d.ts) + " · " + t("source." + d.source));
    badge.hidden = false;
    badge.className = "badge " + COMFORT[d.comfort];
    badge.textContent = t("weather.comfort_" + d.comfort);
  }

  var forecastChart = null;
  var forecast = null;

  function shadeBand(u) {
    if (!forecast) return;
    var ctx = u.ctx;
    var top = u.valToPos(forecast.comfort_max_c, "y", true);
    var bottom = u.valToPos(forecast.comfort_min_c, "y", true);
    ctx.save();
    ctx.fillStyle = "rgba(29, 122, 58, 0.14)";
    ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
    ctx.restore();
  }

  function forecastOptions(width) {
    var readout = document.getElementById("forecast-readout");
    return {
      width: width,
      height: 220,
      tzDate: CF.madridTzDate,
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      scales: {
        x: { time: true, range: function () { return [Date.parse(forecast.start) / 1000, Date.parse(forecast.end) / 1000]; } },
        y: {
          range: function (u, min, max) {
            return [Math.floor(Math.min(min, forecast.comfort_min_c) - 2), Math.ceil(Math.max(max, forecast.comfort_max_c) + 2)];
          },
        },
      },
      axes: CF.timeAxes("°C", function (v) { return CF.num(v, 0); }),
      series: [{}, { label: t("forecast.series"), stroke: "#b3261e", width: 2 }],
      hooks: {
        drawClear: [shadeBand],
        draw: [CF.drawNow],
        setCursor: [
          CF.readout(readout, function (data, i) {
            return withZone(data[0][i] * 1000) + " · " + CF.num(data[1][i], 1, "°C");
          }),
        ],
      },
    };
  }

  function renderForecast(result) {
    var container = document.getElementById("forecast-chart");
    var summary = document.getElementById("forecast-summary");
    if (cardError("forecast-error", result)) return;
    forecast = result.data;
    var band = { low: CF.num(forecast.comfort_min_c, 0), high: CF.num(forecast.comfort_max_c, 0) };
    CF.fill(
      "forecast-legend",
      CF.legend([
        { kind: "temp", text: t("forecast.series") },
        { kind: "band", text: t("forecast.legend_band", band) },
        { kind: "now", text: t("chart.now") },
      ])
    );
    if (forecast.hours.length === 0) {
      forecastChart = null;
      summary.textContent = "";
      CF.fill(container, CF.empty(t("forecast.empty")));
      return;
    }
    summary.setAttribute("data-below", String(forecast.hours_below));
    summary.setAttribute("data-above", String(forecast.hours_above));
    var params = Object.assign({ hours: forecast.hours.length, below: forecast.hours_below, above: forecast.hours_above }, band);
    summary.className = forecast.hours_below + forecast.hours_above > 0 ? "risk" : "";
    summary.textContent = forecast.hours_below + forecast.hours_above > 0 ? t("forecast.outside", params) : t("forecast.all_within", params);
    if (!forecastChart || !container.querySelector(".uplot")) {
      container.replaceChildren();
      forecastChart = CF.chart(container, forecastOptions);
    }
    forecastChart.setData([
      forecast.hours.map(function (h) { return Date.parse(h.ts) / 1000; }),
      forecast.hours.map(function (h) { return h.temperature_c; }),
    ]);
  }

  /* ---- production ---------------------------------------------------------------------------- */

  var eur = CF.eur;

  function renderProduction(result) {
    var rows = document.getElementById("products-rows");
    var note = document.getElementById("prod-note");
    if (cardError("production-error", result)) {
      ["prod-kg", "prod-kwh", "prod-kwh-kg", "prod-cost", "prod-eur-kg", "prod-batches"].forEach(function (id) { CF.setText(id, CF.DASH); });
      return;
    }
    var d = result.data;
    CF.setText("prod-kg", CF.num(d.kg, 0, "kg"));
    CF.setText("prod-kwh", CF.num(d.kwh, 0, "kWh"));
    CF.setText("prod-kwh-kg", CF.num(d.kwh_per_kg, 2, "kWh/kg"));
    CF.setText("prod-cost", eur(d.energy_cost_eur));
    CF.setText("prod-eur-kg", eur(d.eur_per_kg, 3) + (CF.isNum(d.eur_per_kg) ? "/kg" : ""));
    CF.setText("prod-batches", CF.num(d.batches));
    if (d.batches === 0) {
      note.replaceChildren();
      CF.fill(rows, CF.el("tr", null, CF.el("td", { colspan: 7 }, CF.empty(t("production.empty")))));
      return;
    }
    var products = d.by_product.slice().sort(function (a, b) {
      return (CF.isNum(b.eur_per_kg) ? b.eur_per_kg : -1) - (CF.isNum(a.eur_per_kg) ? a.eur_per_kg : -1);
    });
    var dearest = products[0] && CF.isNum(products[0].eur_per_kg) ? products[0] : null;
    CF.fill(
      note,
      dearest ? [t("production.dearest"), " ", CF.name(dearest.product), " (" + eur(dearest.eur_per_kg, 3) + "/kg)"] : null,
      d.priced_kwh < d.kwh * 0.999 ? " " + t("production.partly_priced", { pct: CF.num((d.priced_kwh / d.kwh) * 100, 0) }) : null
    );
    CF.fill(
      rows,
      products.map(function (p) {
        var share = CF.isNum(p.energy_cost_eur) && CF.isNum(d.energy_cost_eur) && d.energy_cost_eur > 0 ? (p.energy_cost_eur / d.energy_cost_eur) * 100 : null;
        return CF.el(
          "tr",
          { "data-product": p.product },
          CF.el("th", { scope: "row", "data-label": t("production.col_product") }, CF.name(p.product)),
          CF.el("td", { className: "num", "data-label": t("production.col_batches") }, CF.num(p.batches)),
          CF.el("td", { className: "num", "data-label": t("production.col_kg") }, CF.num(p.kg, 0)),
          CF.el("td", { className: "num", "data-label": t("production.col_kwh_per_kg") }, CF.num(p.kwh_per_kg, 2)),
          CF.el("td", { className: "num", "data-label": t("production.col_cost") }, eur(p.energy_cost_eur)),
          CF.el("td", { className: "num", "data-label": t("production.col_eur_per_kg") }, eur(p.eur_per_kg, 3)),
          CF.el("td", { className: "num", "data-label": t("production.col_share") }, CF.num(share, 0, "%"))
        );
      })
    );
  }

  /* ---- freshness ----------------------------------------------------------------------------- */

  var STATUS_KIND = { fresh: "ok", present: "ok", stale: "bad", empty: "neutral", sample: "info", disabled: "neutral" };

  /** What a source's state means and, when something is missing, how to get it. */
  function sourceHint(s) {
    if (s.status === "empty") return t("freshness.hint_empty_" + s.dataset + "_" + s.source.replace(/-/g, "_"));
    if (s.status === "disabled") return t("freshness.hint_disabled_" + s.source.replace(/-/g, "_"));
    if (s.status === "stale") return t("freshness.hint_stale", { age: CF.duration(s.age_seconds) });
    if (s.status === "sample") return t("freshness.hint_sample");
    return "";
  }

  function renderFreshness(result) {
    // /ready answers 503 with the same body when the database is not ready: still show it.
    if (!result.ok && (result.status !== 503 || !result.data)) {
      cardError("freshness-error", result);
      return;
    }
    CF.fill("freshness-error");
    var sources = result.data.sources || [];
    var tbody = document.getElementById("freshness-rows");
    CF.fill(
      tbody,
      sources.map(function (s) {
        var when = s.newest_ts ? withZone(s.newest_ts) : t("freshness.nothing");
        if (CF.isNum(s.age_seconds)) when += " · " + t("freshness.delivered", { ago: CF.ago(Date.now() - s.age_seconds * 1000) });
        return CF.el(
          "tr",
          { "data-source": s.dataset + "/" + s.source, "data-status": s.status },
          CF.el("th", { scope: "row", "data-label": t("freshness.col_source") }, t("dataset." + s.dataset) + " (" + s.source + ")"),
          CF.el("td", { "data-label": t("freshness.col_newest") }, when),
          CF.el(
            "td",
            { "data-label": t("freshness.col_status") },
            CF.el("span", { className: "badge " + (STATUS_KIND[s.status] || "neutral") }, t("status." + s.status))
          ),
          CF.el("td", { className: "hint", "data-label": t("freshness.col_what") }, sourceHint(s))
        );
      })
    );
  }

  /* ---- refresh ------------------------------------------------------------------------------- */

  function refreshPeriod() {
    var p = period;
    var range = periodRange(p);
    return Promise.all([
      get("/bi/prices?" + periodQuery(range)),
      get("/bi/production/summary?" + periodQuery(range)),
    ]).then(function (r) {
      if (p !== period) return; // a newer choice is on its way
      renderPrices(r[0], range);
      renderProduction(r[1]);
    });
  }

  function refresh() {
    return Promise.all([
      get("/bi/prices/cheapest-windows?hours=" + WINDOWS_WITHIN_HOURS).then(renderWindows),
      get("/bi/prices/current").then(renderPriceNow),
      get("/bi/weather/current").then(renderWeather),
      get("/bi/weather/forecast?hours=" + FORECAST_HOURS).then(renderForecast),
      get("/ready").then(renderFreshness),
      refreshPeriod(),
    ]).then(function () {
      document.getElementById("updated-at").textContent = CF.time(Date.now());
      document.body.setAttribute("data-loaded", "true");
    });
  }

  function start() {
    period = periodFromUrl();
    showPeriodForm(period);
    wirePeriodForm();
    CF.loading([
      "price-now", "price-meta", "weather-temp", "weather-humidity", "weather-comfort", "weather-time",
      "prices-min", "prices-avg", "prices-max", "price-chart", "cheap-windows", "forecast-summary",
      "forecast-chart", "prod-kg", "prod-kwh", "prod-kwh-kg", "prod-cost", "prod-eur-kg", "prod-batches",
      "products-rows", "freshness-rows", "updated-at",
    ]);
    CF.poll(refresh, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
