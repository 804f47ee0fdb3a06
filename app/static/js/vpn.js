/*
 * The VPN page: tailnet devices by class, the user quota as a gauge with its thresholds, access logs
 * with filters and paging, dashboard usage per day and per user, and device uptime over a period.
 * Host names, user names and request paths are data: they go into the page as text only.
 */
(function () {
  "use strict";

  var CF = window.CF;
  var POLL_MS = 60000;
  var TIMEOUT_MS = 10000;
  var PAGE_SIZE = 25;

  var CLASS_TITLES = {
    own: "Own devices",
    tagged: "Tagged servers",
    "shared-in": "Shared in",
    shared_in: "Shared in",
    other: "Other users' devices",
    "other-user": "Other users' devices",
    "other-users": "Other users' devices",
    other_users: "Other users' devices",
  };
  var CLASS_ORDER = ["own", "tagged", "shared-in", "shared_in", "other-user", "other", "other-users", "other_users"];

  var state = {
    days: 7,
    // Paging: by cursor when the API gives `next_cursor` (cursors[i] starts page i), else by offset.
    logs: { hours: 24, user: "", path: "", page: 0, cursors: [null], byCursor: false, total: null },
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
      var detail = CF.pick(result.data, "detail");
      CF.fill(
        "access-denied",
        CF.el(
          "div",
          { className: "notice" },
          CF.el("strong", null, "Only tailnet admins can see this page. "),
          "It shows other people's devices and activity, so the app answers it only for the admins " +
            "listed in its settings. " + (typeof detail === "string" ? "The app said: " + detail : "")
        )
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
      CF.fill(id, CF.el("p", { className: "muted" }, "Not available: admins only."));
      return true;
    }
    CF.fill(id, CF.notice("Could not load: " + CF.errorText(result) + "."));
    return true;
  }

  function listOf(data, keys) {
    if (Array.isArray(data)) return data;
    var list = CF.pick.apply(null, [data].concat(keys));
    return Array.isArray(list) ? list : [];
  }

  function staleOf(data) {
    return {
      stale: CF.pick(data, "freshness.stale", "stale") === true,
      age: CF.pick(data, "freshness.age_seconds", "age_seconds", "snapshot_age_seconds", "age"),
    };
  }

  /* ---- devices ------------------------------------------------------------------------------- */

  function deviceName(d) {
    return String(CF.pick(d, "hostname", "host_name", "name", "dns_name", "DNSName", "HostName") || CF.DASH);
  }

  function deviceClass(d) {
    return String(CF.pick(d, "class", "device_class", "classification", "kind") || "other");
  }

  function renderDevices(result) {
    if (cardError("devices-error", result)) return;
    var s = staleOf(result.data);
    CF.showStale("devices-stale", s.stale, s.age, "the device list");
    var devices = listOf(result.data, ["devices", "items"]);
    var groups = {};
    devices.forEach(function (d) {
      var cls = deviceClass(d);
      (groups[cls] = groups[cls] || []).push(d);
    });
    var classes = Object.keys(groups).sort(function (a, b) {
      var ia = CLASS_ORDER.indexOf(a);
      var ib = CLASS_ORDER.indexOf(b);
      return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || a.localeCompare(b);
    });
    if (classes.length === 0) {
      CF.fill("devices", CF.el("p", { className: "muted" }, "No devices known yet."));
      return;
    }
    CF.fill(
      "devices",
      classes.map(function (cls) {
        var rows = groups[cls].map(function (d) {
          var online = CF.pick(d, "online", "Online");
          var rx = CF.pick(d, "rx_bytes", "RxBytes");
          var tx = CF.pick(d, "tx_bytes", "TxBytes");
          var user = CF.pick(d, "user_login", "user", "owner", "login_name");
          var tags = CF.pick(d, "tags", "Tags");
          var who = Array.isArray(tags) && tags.length ? tags.join(", ") : user;
          return CF.el(
            "tr",
            { "data-device": deviceName(d) },
            CF.el("th", { scope: "row", "data-label": "Device" }, deviceName(d)),
            CF.el("td", { "data-label": "User or tags" }, typeof who === "object" ? CF.pick(who, "login_name", "LoginName", "name") : who),
            CF.el(
              "td",
              { "data-label": "State" },
              CF.el("span", { className: "dot " + (online === true ? "online" : "offline"), "aria-hidden": "true" }),
              online === true ? "online" : online === false ? "offline" : CF.DASH
            ),
            CF.el("td", { "data-label": "OS" }, String(CF.pick(d, "os", "OS") || CF.DASH)),
            CF.el("td", { "data-label": "Last seen" }, online === true ? "now" : CF.ago(CF.pick(d, "last_seen", "LastSeen"))),
            CF.el("td", { className: "num", "data-label": "In / out" }, CF.bytes(rx) + " / " + CF.bytes(tx))
          );
        });
        return [
          CF.el("h3", null, (CLASS_TITLES[cls] || cls) + " (" + groups[cls].length + ")"),
          CF.el(
            "div",
            { className: "table-wrap" },
            CF.el(
              "table",
              { "data-class": cls, className: "stack" },
              CF.el(
                "thead",
                null,
                CF.el(
                  "tr",
                  null,
                  ["Device", "User or tags", "State", "OS", "Last seen", "In / out"].map(function (h, i) {
                    return CF.el("th", { scope: "col", className: i === 5 ? "num" : null }, h);
                  })
                )
              ),
              CF.el("tbody", null, rows)
            )
          ),
        ];
      })
    );
  }

  /* ---- quota --------------------------------------------------------------------------------- */

  /** A user count; thresholds may be fractional (80 % of 6 is 4.8). */
  function count(v) {
    return CF.num(v, CF.isNum(v) && Math.round(v) !== v ? 1 : 0);
  }

  function renderQuota(result) {
    if (cardError("quota-error", result)) return;
    var d = result.data || {};
    var s = staleOf(d);
    CF.showStale("quota-stale", s.stale, s.age, "the quota");
    var used = CF.pick(d, "used", "users", "user_count", "count");
    var usersList = null;
    if (Array.isArray(used)) {
      usersList = used;
      used = used.length;
    }
    var limit = CF.pick(d, "limit", "plan_limit", "quota", "max_users");
    var warnAt = CF.pick(d, "warning_at", "warn_at", "warning_threshold", "thresholds.warning");
    var alertAt = CF.pick(d, "alert_at", "alert_threshold", "thresholds.alert");
    var level = String(CF.pick(d, "level", "status", "state") || "");
    if (!level && CF.isNum(used)) {
      level = CF.isNum(alertAt) && used >= alertAt ? "alert" : CF.isNum(warnAt) && used >= warnAt ? "warning" : "ok";
    }
    var kind = /alert|over|exceed|crit/i.test(level) ? "bad" : /warn/i.test(level) ? "warn" : level ? "ok" : "";

    var gauge = document.getElementById("quota-gauge");
    var fillNode = document.getElementById("quota-fill");
    gauge.querySelectorAll(".mark").forEach(function (m) { m.remove(); });
    var max = CF.isNum(limit) && limit > 0 ? limit : CF.isNum(used) ? Math.max(used, 1) : 1;
    fillNode.style.width = (CF.isNum(used) ? Math.min(100, (used / max) * 100) : 0) + "%";
    fillNode.className = "fill" + (kind && kind !== "ok" ? " " + kind : "");
    gauge.setAttribute("aria-valuemax", String(max));
    if (CF.isNum(used)) gauge.setAttribute("aria-valuenow", String(used));
    gauge.setAttribute("aria-valuetext", CF.num(used) + " of " + CF.num(limit) + " users");
    [
      [warnAt, "warn"],
      [alertAt, "alert"],
    ].forEach(function (pair) {
      if (!CF.isNum(pair[0])) return;
      var mark = CF.el("div", { className: "mark " + pair[1], title: pair[1] + " at " + count(pair[0]) }, CF.el("span", null, pair[1] + " " + count(pair[0])));
      var at = Math.min(100, (pair[0] / max) * 100);
      mark.style.left = at + "%";
      if (at > 85) mark.classList.add("end");
      else if (at < 15) mark.classList.add("start");
      gauge.appendChild(mark);
    });

    document.getElementById("quota-used").textContent = CF.num(used);
    document.getElementById("quota-of").textContent = "of " + CF.num(limit) + " users on the plan";
    var levelNode = document.getElementById("quota-level");
    levelNode.className = "badge" + (kind ? " " + kind : "");
    levelNode.textContent = level || CF.DASH;
    document.getElementById("quota-thresholds").textContent =
      "Warning at " + count(warnAt) + " users, alert at " + count(alertAt) + ". Tagged servers, shared-in devices and the owner do not count.";
    var names = usersList || CF.pick(d, "users", "user_logins", "user_list", "counted_users");
    document.getElementById("quota-users").textContent = Array.isArray(names) && names.length
      ? "Counted: " + names.map(function (u) { return typeof u === "object" ? CF.pick(u, "login", "login_name", "name") : u; }).join(", ")
      : "";
  }

  /* ---- dashboard usage ----------------------------------------------------------------------- */

  var usageChart = null;

  function dayLabel(seconds) {
    return new Date(seconds * 1000).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
  }

  function usageOptions(width) {
    var bars = typeof uPlot !== "undefined" && uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
    return {
      width: width,
      height: 220,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          // half a day of room on each side so the first and last bars are whole
          range: function (u, min, max) { return [min - 43200, max + 43200]; },
        },
        y: { range: function (u, min, max) { return [0, Math.max(1, max) * 1.1]; } },
      },
      axes: [
        {
          stroke: "#6b5a4e",
          grid: { stroke: "#eee6df" },
          space: 50,
          incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400],
          values: function (u, splits) { return splits.map(dayLabel); },
        },
        { stroke: "#6b5a4e", grid: { stroke: "#eee6df" } },
      ],
      series: [
        { label: "Day", value: function (u, v) { return v === null || v === undefined ? "—" : dayLabel(v); } },
        { label: "Requests", stroke: "#7b3f00", fill: "rgba(123, 63, 0, 0.35)", paths: bars },
        { label: "Users", stroke: "#1a5fb4", width: 2, points: { show: true } },
        { label: "Devices", stroke: "#1d7a3a", width: 2, points: { show: true } },
      ],
    };
  }

  function renderUsage(result) {
    if (cardError("usage-error", result)) return;
    var d = result.data || {};
    var days = listOf(d, ["per_day", "days", "daily", "by_day"]);
    var xs = [];
    var req = [];
    var users = [];
    var devices = [];
    days.forEach(function (row) {
      var t = CF.toDate(CF.pick(row, "day", "date", "ts"));
      if (!t) return;
      xs.push(t.getTime() / 1000);
      req.push(CF.pick(row, "requests", "request_count") ?? null);
      var u = CF.pick(row, "users", "user_count", "distinct_users");
      users.push(Array.isArray(u) ? u.length : u ?? null);
      var dv = CF.pick(row, "devices", "device_count", "distinct_devices");
      devices.push(Array.isArray(dv) ? dv.length : dv ?? null);
    });
    var container = document.getElementById("usage-chart");
    if (xs.length === 0) {
      usageChart = null;
      CF.fill(container, CF.el("p", { className: "muted" }, "No dashboard requests in this period."));
    } else {
      if (!usageChart || !container.querySelector(".uplot")) usageChart = CF.chart(container, usageOptions);
      usageChart.setData([xs, req, users, devices]);
    }

    var perUser = listOf(d, ["per_user", "users", "by_user", "user_activity"]);
    CF.fill(
      "usage-users",
      perUser.length
        ? CF.bars(
            perUser.map(function (u) {
              var requests = CF.pick(u, "requests", "request_count", "count");
              return { label: String(CF.pick(u, "user", "login", "user_login", "name") || "(unknown)"), value: requests, text: CF.num(requests) + " req" };
            })
          )
        : CF.el("p", { className: "muted" }, "No users in this period.")
    );
    var paths = listOf(d, ["top_paths", "paths"]);
    CF.fill(
      "usage-paths",
      paths.length
        ? CF.bars(
            paths.map(function (p) {
              var requests = CF.pick(p, "requests", "count");
              return { label: String(CF.pick(p, "path") || CF.DASH), value: requests, text: CF.num(requests) };
            })
          )
        : CF.el("p", { className: "muted" }, CF.DASH)
    );
  }

  /* ---- uptime -------------------------------------------------------------------------------- */

  function renderUptime(result) {
    if (cardError("uptime-error", result)) return;
    var rows = listOf(result.data, ["devices", "items", "uptime"]);
    if (rows.length === 0) {
      CF.fill("uptime", CF.el("p", { className: "muted" }, "No snapshots in this period yet."));
      return;
    }
    CF.fill(
      "uptime",
      CF.bars(
        rows.map(function (r) {
          var pct = CF.pick(r, "uptime_pct", "uptime_percent", "online_pct");
          var ratio = CF.pick(r, "uptime_ratio", "uptime");
          if (!CF.isNum(pct) && CF.isNum(ratio)) pct = ratio <= 1 ? ratio * 100 : ratio;
          return { label: deviceName(r), value: pct, text: CF.num(pct, 1, "%") };
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
    if (state.logs.byCursor) {
      var cursor = state.logs.cursors[state.logs.page];
      if (cursor !== null && cursor !== undefined) q.set("cursor", String(cursor));
    } else if (state.logs.page > 0) {
      q.set("offset", String(state.logs.page * PAGE_SIZE));
    }
    return "/analytics/access-logs?" + q.toString();
  }

  function resetLogPaging() {
    state.logs.page = 0;
    state.logs.cursors = [null];
  }

  /** Render one page of entries; paging follows the API's `next_cursor`. */
  function renderLogs(result) {
    var tbody = document.getElementById("logs-rows");
    if (cardError("logs-error", result)) {
      CF.fill(tbody, CF.el("tr", null, CF.el("td", { colspan: 6 }, CF.DASH)));
      return;
    }
    var d = result.data || {};
    var items = listOf(d, ["entries", "items", "rows", "logs"]);
    var total = CF.pick(d, "total", "count", "total_count");
    state.logs.total = CF.isNum(total) ? total : null;
    var nextCursor = d && typeof d === "object" && "next_cursor" in d ? d.next_cursor : undefined;
    if (nextCursor !== undefined) {
      state.logs.byCursor = true;
      state.logs.cursors[state.logs.page + 1] = nextCursor;
      state.logs.cursors.length = state.logs.page + 2;
    }
    if (items.length === 0) {
      CF.fill(tbody, CF.el("tr", null, CF.el("td", { colspan: 6 }, "No requests match these filters.")));
    } else {
      CF.fill(
        tbody,
        items.map(function (r) {
          var user = CF.pick(r, "user_login", "user", "login");
          var device = CF.pick(r, "device_name", "device", "hostname");
          var addr = CF.pick(r, "client", "client_addr", "remote_addr", "ip");
          return CF.el(
            "tr",
            null,
            CF.el("td", { "data-label": "Time" }, CF.dateTime(CF.pick(r, "ts", "time", "timestamp"))),
            CF.el("td", { "data-label": "User" }, user ? String(user) : CF.DASH),
            CF.el("td", { "data-label": "Device" }, device ? String(device) : addr ? String(addr) : CF.DASH),
            CF.el(
              "td",
              { className: "path", "data-label": "Request" },
              String(CF.pick(r, "method") || "") + " " + String(CF.pick(r, "path", "uri", "request") || CF.DASH)
            ),
            CF.el("td", { className: "num", "data-label": "Status" }, CF.num(CF.pick(r, "status"))),
            CF.el("td", { className: "num", "data-label": "ms" }, CF.num(CF.pick(r, "duration_ms", "request_time_ms")))
          );
        })
      );
    }
    var offset = state.logs.page * PAGE_SIZE;
    var from = items.length ? offset + 1 : 0;
    var to = offset + items.length;
    document.getElementById("logs-page").textContent =
      from + "–" + to + (state.logs.total !== null ? " of " + state.logs.total : "");
    document.getElementById("logs-prev").disabled = state.logs.page === 0;
    var hasMore;
    if (state.logs.byCursor) hasMore = nextCursor !== null && nextCursor !== undefined;
    else if (state.logs.total !== null) hasMore = to < state.logs.total;
    else hasMore = items.length >= PAGE_SIZE;
    document.getElementById("logs-next").disabled = !hasMore;
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
      refreshPeriod(),
      loadLogs(),
    ]).then(function () {
      document.getElementById("updated-at").textContent = CF.time(Date.now());
      document.body.setAttribute("data-loaded", "true");
    });
  }

  function start() {
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
