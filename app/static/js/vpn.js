/*
 * The VPN page: tailnet devices by class, the user quota as a gauge with its thresholds (or "unknown"
 * while the tailnet was never read), access logs with filters and paging, dashboard usage per day and
 * per user, and device uptime over a period. Host names, user names and request paths are data: they
 * go into the page as text only, isolated in <bdi> and cut with an ellipsis (the full text in a title).
 */
(function () {
  "use strict";

  var CF = window.CF;
  var t = CF.t;
  var POLL_MS = 60000;
  var TIMEOUT_MS = 10000;
  var PAGE_SIZE = 25;

  var KIND_ORDER = ["own", "tagged", "infrastructure", "shared-in", "other-user"];

  var state = {
    days: 7,
    // Paging follows the API's `next_cursor`: cursors[i] starts page i.
    logs: { hours: 24, user: "", path: "", page: 0, cursors: [null], total: null },
    denied: false,
  };

  function get(url) {
    return CF.fetchJSON(url, { timeoutMs: TIMEOUT_MS });
  }

  /** True when the result is a 403: shows the page-wide message once. */
  function denied(result) {
    if (result.status !== 403) return false;
    if (!state.denied) {
      state.denied = true;
      CF.fill(
        "access-denied",
        CF.el("div", { className: "notice" }, CF.el("strong", null, t("vpn.denied_title")), " ", t("vpn.denied_text"))
      );
      document.getElementById("access-denied").hidden = false;
    }
    return true;
  }

  function cardError(id, result) {
    if (result.ok) {
      CF.fill(id);
      return false;
    }
    if (denied(result)) {
      CF.fill(id, CF.el("p", { className: "muted" }, t("vpn.admins_only")));
      return true;
    }
    CF.fill(id, CF.notice(t("error.load", { detail: CF.errorText(result) })));
    return true;
  }

  function showStale(id, freshness, what) {
    CF.showStale(id, freshness.stale && freshness.source !== "none", freshness.age_seconds, what);
  }

  /* ---- devices ------------------------------------------------------------------------------- */

  var DEVICE_COLUMNS = [
    "devices.col_device", "devices.col_user", "devices.col_state", "devices.col_os", "devices.col_last_seen",
    "devices.col_key_expiry", "devices.col_routes", "devices.col_traffic",
  ];
  var DEVICE_COL_CLASSES = ["c-name", "c-name", "c-state", "c-os", "c-time", "c-time", "c-routes", "c-traffic"];

  /** "linux · 1.94.1": tailscaled reports the version of its own node only (full version as title). */
  function osAndVersion(d) {
    if (!d.version) return CF.name(d.os);
    var short = d.version.split("-")[0];
    return CF.el("span", { title: d.version }, CF.name(d.os), " · " + short);
  }

  /** The key's expiry date; "never" when expiry is disabled, "expired" once past. */
  function keyExpiry(d) {
    if (!d.key_expiry) return t("devices.key_never");
    var when = CF.toDate(d.key_expiry);
    if (when && when.getTime() < Date.now()) return CF.el("span", { className: "badge bad" }, t("devices.key_expired"));
    return CF.el("span", { title: CF.dateTime(d.key_expiry) }, CF.shortDate(d.key_expiry));
  }

  /** Subnet routes, and "exit node" when it is one; a dash when neither. */
  function routes(d) {
    var parts = d.subnet_routes.slice();
    if (d.exit_node) parts.push(t("devices.exit_node"));
    return parts.length ? CF.name(parts.join(", ")) : "—";
  }

  function deviceRow(d) {
    var who = d.tags.length ? d.tags.join(", ") : d.user_login;
    var online = d.online === true;
    return CF.el(
      "tr",
      { "data-device": d.host_name },
      CF.el("th", { scope: "row", "data-label": t("devices.col_device") }, CF.name(d.host_name)),
      CF.el("td", { "data-label": t("devices.col_user") }, CF.name(who)),
      CF.el(
        "td",
        { "data-label": t("devices.col_state") },
        CF.el("span", { className: "dot " + (online ? "online" : "offline"), "aria-hidden": "true" }),
        t(online ? "devices.online" : "devices.offline")
      ),
      CF.el("td", { "data-label": t("devices.col_os") }, osAndVersion(d)),
      CF.el("td", { "data-label": t("devices.col_last_seen") }, online ? t("devices.now") : CF.ago(d.last_seen)),
      CF.el("td", { "data-label": t("devices.col_key_expiry") }, keyExpiry(d)),
      CF.el("td", { className: "routes", "data-label": t("devices.col_routes") }, routes(d)),
      CF.el("td", { className: "num", "data-label": t("devices.col_traffic") }, CF.bytes(d.rx_bytes) + " / " + CF.bytes(d.tx_bytes))
    );
  }

  function renderDevices(result) {
    if (cardError("devices-error", result)) return;
    var d = result.data;
    showStale("devices-stale", d.freshness, t("stale.what_devices"));
    if (d.devices.length === 0) {
      CF.fill("devices", CF.empty(d.freshness.source === "none" ? t("devices.no_data") : t("devices.empty")));
      return;
    }
    var groups = {};
    d.devices.forEach(function (device) {
      (groups[device.kind] = groups[device.kind] || []).push(device);
    });
    var kinds = Object.keys(groups).sort(function (a, b) {
      return KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b);
    });
    CF.fill(
      "devices",
      kinds.map(function (kind) {
        return [
          CF.el("h3", null, t("devices.kind_" + kind.replace(/-/g, "_")) + " (" + groups[kind].length + ")"),
          CF.el(
            "div",
            { className: "table-wrap" },
            CF.el(
              "table",
              { "data-class": kind, className: "stack fixed devices" },
              CF.el(
                "colgroup",
                null,
                DEVICE_COL_CLASSES.map(function (c) { return CF.el("col", { className: c }); })
              ),
              CF.el(
                "thead",
                null,
                CF.el(
                  "tr",
                  null,
                  DEVICE_COLUMNS.map(function (key, i) {
                    return CF.el("th", { scope: "col", className: i === DEVICE_COLUMNS.length - 1 ? "num" : null }, t(key));
                  })
                )
              ),
              CF.el("tbody", null, groups[kind].map(deviceRow))
            )
          ),
        ];
      })
    );
  }

  /* ---- alerts -------------------------------------------------------------------------------- */

  var SEVERITY_BADGE = { critical: "bad", warning: "warn", info: "info" };
  var SUBJECT = "\u0000";

  /** The alert's sentence, its subject (a host name, a login: data) shown as an isolated name. */
  function alertText(a) {
    var params = { subject: SUBJECT, value: CF.isNum(a.value) ? CF.num(a.value) : "" };
    var expired = a.kind === "key_expiring" && CF.isNum(a.value) && a.value < 0;
    var text = expired ? t("alerts.key_expired", params) : t("alerts.kind_" + a.kind, params);
    var nodes = [];
    text.split(SUBJECT).forEach(function (part, i) {
      if (i) nodes.push(CF.name(a.subject));
      if (part) nodes.push(part);
    });
    return nodes;
  }

  function alertItem(a) {
    var at = a.at ? CF.el("span", { className: "muted" }, " · " + CF.dateTime(a.at)) : null;
    return CF.el(
      "li",
      { "data-alert": a.kind },
      CF.el("span", { className: "badge " + SEVERITY_BADGE[a.severity] }, t("alerts.severity_" + a.severity)),
      " ",
      alertText(a),
      at
    );
  }

  function renderAlerts(result) {
    if (cardError("alerts-error", result)) return;
    var d = result.data;
    CF.fill("alerts", d.alerts.length ? d.alerts.map(alertItem) : CF.el("li", { className: "muted" }, t("alerts.none")));
    document.getElementById("alerts-thresholds").textContent = t("alerts.thresholds", {
      hours: d.thresholds.new_device_hours,
      minutes: d.thresholds.tagged_offline_minutes,
      days: d.thresholds.key_expiry_days,
      stale: d.thresholds.access_log_stale_minutes,
    });
  }

  /* ---- quota --------------------------------------------------------------------------------- */

  /** A user count; thresholds may be fractional (80 % of 6 is 4.8). */
  function count(v) {
    return CF.num(v, CF.isNum(v) && Math.round(v) !== v ? 1 : 0);
  }

  var LEVEL_KIND = { ok: "ok", warning: "warn", alert: "bad" };

  function renderQuota(result) {
    if (cardError("quota-error", result)) return;
    var d = result.data;
    showStale("quota-stale", d.freshness, t("stale.what_quota"));
    // No snapshot ever stored and tailscaled not answering: the count is not zero, it is unknown.
    var unknown = d.level === "unknown" || d.freshness.source === "none";
    // Users whose devices this node cannot see are not counted: the figure is "at least".
    var bound = !unknown && d.lower_bound === true;
    var gauge = document.getElementById("quota-gauge");
    var fillNode = document.getElementById("quota-fill");
    var levelNode = document.getElementById("quota-level");
    gauge.querySelectorAll(".mark").forEach(function (m) { m.remove(); });
    var max = d.plan_limit > 0 ? d.plan_limit : Math.max(d.used, 1);
    fillNode.style.width = unknown ? "0%" : Math.min(100, (d.used / max) * 100) + "%";
    fillNode.className = "fill" + (!unknown && d.level !== "ok" ? " " + LEVEL_KIND[d.level] : "");
    gauge.setAttribute("aria-valuemax", String(max));
    if (unknown) {
      gauge.removeAttribute("aria-valuenow");
      gauge.setAttribute("aria-valuetext", t("quota.unknown"));
    } else {
      gauge.setAttribute("aria-valuenow", String(d.used));
      gauge.setAttribute(
        "aria-valuetext",
        t(bound ? "quota.of_at_least" : "quota.of", { used: d.used, limit: d.plan_limit })
      );
    }
    [
      [d.warning_at, "warn", t("quota.mark_warning", { n: count(d.warning_at) })],
      [d.alert_at, "alert", t("quota.mark_alert", { n: count(d.alert_at) })],
    ].forEach(function (mark) {
      var node = CF.el("div", { className: "mark " + mark[1], title: mark[2] }, CF.el("span", null, mark[2]));
      var at = Math.min(100, (mark[0] / max) * 100);
      node.style.left = at + "%";
      if (at > 85) node.classList.add("end");
      else if (at < 15) node.classList.add("start");
      gauge.appendChild(node);
    });

    document.getElementById("quota-used").textContent = unknown ? "?" : CF.num(d.used);
    var boundNode = document.getElementById("quota-bound");
    boundNode.hidden = !bound;
    boundNode.textContent = bound ? "≥ " : "";
    boundNode.title = bound ? t("quota.at_least") : "";
    var boundWhy = document.getElementById("quota-bound-why");
    boundWhy.hidden = !bound;
    boundWhy.textContent = bound ? t("quota.lower_bound_why") : "";
    document.getElementById("quota-of").textContent = t("quota.of_plan", { limit: d.plan_limit });
    levelNode.className = "badge " + (unknown ? "neutral" : LEVEL_KIND[d.level]);
    levelNode.textContent = unknown ? t("quota.level_unknown") : t("quota.level_" + d.level);
    document.getElementById("quota-thresholds").textContent = unknown
      ? t("quota.unknown_why")
      : t("quota.thresholds", { warning: count(d.warning_at), alert: count(d.alert_at) }) +
        " " + t(d.owner_counted ? "quota.rule_owner_counted" : "quota.rule_owner_free");
    CF.fill(
      "quota-users",
      d.users.length ? [t("quota.counted"), " "].concat(d.users.map(function (u, i) { return [i ? ", " : "", CF.name(u)]; })) : null
    );
  }

  /* ---- dashboard usage ----------------------------------------------------------------------- */

  var usageChart = null;

  function usageOptions(width) {
    var bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
    var readout = document.getElementById("usage-readout");
    var axes = CF.timeAxes(t("usage.axis"), function (v) { return CF.num(v); });
    axes[0].incrs = [86400, 2 * 86400, 7 * 86400, 14 * 86400];
    return {
      width: width,
      height: 220,
      tzDate: CF.madridTzDate,
      cursor: { drag: { x: false, y: false } },
      legend: { show: false },
      scales: {
        x: {
          time: true,
          // half a day of room on each side so the first and last bars are whole
          range: function (u, min, max) { return [min - 43200, max + 43200]; },
        },
        y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.1]; } },
      },
      axes: axes,
      series: [
        {},
        { label: t("usage.requests"), stroke: "#7b3f00", fill: "rgba(123, 63, 0, 0.35)", paths: bars },
        { label: t("usage.users"), stroke: "#1a5fb4", width: 2, points: { show: true } },
        { label: t("usage.devices"), stroke: "#1d7a3a", width: 2, points: { show: true } },
      ],
      hooks: {
        setCursor: [
          CF.readout(readout, function (data, i) {
            return t("usage.readout", {
              day: CF.day((data[0][i] - 43200) * 1000),
              requests: CF.num(data[1][i]),
              users: CF.num(data[2][i]),
              devices: CF.num(data[3][i]),
            });
          }),
        ],
      },
    };
  }

  function renderUsage(result) {
    if (cardError("usage-error", result)) return;
    var d = result.data;
    // Each day's bar stands at Madrid noon of its date, so it sits between that date's ticks.
    var xs = d.per_day.map(function (row) { return CF.madridMidnight(row.date).getTime() / 1000 + 43200; });
    var container = document.getElementById("usage-chart");
    CF.fill(
      "usage-legend",
      CF.legend([
        { kind: "price", text: t("usage.requests") },
        { kind: "users", text: t("usage.users") },
        { kind: "devices", text: t("usage.devices") },
      ])
    );
    if (xs.length === 0) {
      usageChart = null;
      CF.fill(container, CF.empty(t("usage.empty")));
    } else {
      if (!usageChart || !container.querySelector(".uplot")) {
        container.replaceChildren();
        usageChart = CF.chart(container, usageOptions);
      }
      usageChart.setData([
        xs,
        d.per_day.map(function (r) { return r.requests; }),
        d.per_day.map(function (r) { return r.users; }),
        d.per_day.map(function (r) { return r.devices; }),
      ]);
    }
    CF.fill(
      "usage-users",
      d.users.length
        ? CF.bars(
            d.users.map(function (u) {
              return { label: u.login || t("usage.unknown_user"), value: u.requests, text: t("usage.requests_n", { n: CF.num(u.requests) }) };
            })
          )
        : CF.empty(t("usage.no_users"))
    );
    CF.fill(
      "usage-paths",
      d.top_paths.length
        ? CF.bars(d.top_paths.map(function (p) { return { label: p.path, value: p.requests, text: CF.num(p.requests) }; }))
        : CF.empty(t("usage.no_paths"))
    );
  }

  /* ---- uptime -------------------------------------------------------------------------------- */

  function renderUptime(result) {
    if (cardError("uptime-error", result)) return;
    var rows = result.data.devices;
    if (rows.length === 0) {
      CF.fill("uptime", CF.empty(t("uptime.empty")));
      return;
    }
    CF.fill(
      "uptime",
      CF.bars(
        rows.map(function (r) {
          return { label: r.host_name, value: r.uptime_pct, text: CF.num(r.uptime_pct, 1, "%") };
        }),
        100
      )
    );
  }

  /* ---- access logs --------------------------------------------------------------------------- */

  function logsUrl() {
    var q = new URLSearchParams();
    q.set("hours", String(state.logs.hours));
    if (state.logs.user) q.set("user", state.logs.user);
    if (state.logs.path) q.set("path", state.logs.path);
    q.set("limit", String(PAGE_SIZE));
    var cursor = state.logs.cursors[state.logs.page];
    if (cursor !== null && cursor !== undefined) q.set("cursor", String(cursor));
    return "/analytics/access-logs?" + q.toString();
  }

  function resetLogPaging() {
    state.logs.page = 0;
    state.logs.cursors = [null];
  }

  function logRow(r) {
    return CF.el(
      "tr",
      null,
      CF.el("td", { "data-label": t("logs.col_time") }, CF.dateTime(r.ts)),
      CF.el("td", { "data-label": t("logs.col_user") }, CF.name(r.user_login)),
      CF.el("td", { "data-label": t("logs.col_device") }, CF.name(r.device_name || r.client)),
      CF.el("td", { className: "path", "data-label": t("logs.col_request") }, CF.name(r.method + " " + r.path)),
      CF.el("td", { className: "num", "data-label": t("logs.col_status") }, String(r.status)),
      CF.el("td", { className: "num", "data-label": "ms" }, CF.num(r.duration_ms))
    );
  }

  /** Render one page of entries; paging follows the API's `next_cursor`. */
  function renderLogs(result) {
    var tbody = document.getElementById("logs-rows");
    if (cardError("logs-error", result)) {
      CF.fill(tbody, CF.el("tr", null, CF.el("td", { colspan: 6 }, CF.DASH)));
      return;
    }
    var d = result.data;
    state.logs.total = d.total;
    state.logs.cursors[state.logs.page + 1] = d.next_cursor;
    state.logs.cursors.length = state.logs.page + 2;
    if (d.entries.length === 0) {
      CF.fill(tbody, CF.el("tr", null, CF.el("td", { colspan: 6 }, CF.empty(t("logs.empty")))));
    } else {
      CF.fill(tbody, d.entries.map(logRow));
    }
    var offset = state.logs.page * PAGE_SIZE;
    document.getElementById("logs-page").textContent = t("logs.page", {
      from: d.entries.length ? offset + 1 : 0,
      to: offset + d.entries.length,
      total: d.total,
    });
    document.getElementById("logs-prev").disabled = state.logs.page === 0;
    document.getElementById("logs-next").disabled = d.next_cursor === null || d.next_cursor === undefined;
  }

  function loadLogs() {
    return get(logsUrl()).then(renderLogs);
  }

  /* ---- wiring -------------------------------------------------------------------------------- */

  function refreshPeriod() {
    return Promise.all([
      get("/analytics/dashboard-usage?days=" + state.days).then(renderUsage),
      get("/analytics/uptime?days=" + state.days).then(renderUptime),
    ]);
  }

  function refresh() {
    return Promise.all([
      get("/analytics/devices").then(renderDevices),
      get("/analytics/quota-status").then(renderQuota),
      get("/analytics/alerts").then(renderAlerts),
      refreshPeriod(),
      loadLogs(),
    ]).then(function () {
      document.getElementById("updated-at").textContent = CF.time(Date.now());
      document.body.setAttribute("data-loaded", "true");
    });
  }

  function start() {
    CF.loading(["alerts", "quota-used", "devices", "usage-chart", "usage-users", "usage-paths", "uptime", "logs-rows", "updated-at"]);
    document.getElementById("period-days").addEventListener("change", function (event) {
      state.days = Number(event.target.value) || 7;
      refreshPeriod();
    });
    document.getElementById("logs-form").addEventListener("submit", function (event) {
      event.preventDefault();
      state.logs.hours = Number(document.getElementById("logs-hours").value) || 24;
      state.logs.user = document.getElementById("logs-user").value.trim();
      state.logs.path = document.getElementById("logs-path").value.trim();
      resetLogPaging();
      loadLogs();
    });
    document.getElementById("logs-prev").addEventListener("click", function () {
      state.logs.page = Math.max(0, state.logs.page - 1);
      loadLogs();
    });
    document.getElementById("logs-next").addEventListener("click", function () {
      state.logs.page += 1;
      loadLogs();
    });
    CF.poll(refresh, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
