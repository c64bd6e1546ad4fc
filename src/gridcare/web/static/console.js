/* gridcare console: charts (ECharts, vendored at /static/vendor/echarts.min.js) and the on-demand read button.

   CSP-compatible: no inline script runs. A chart is an element with data-chart="<kind>" and either
   data-src="/api/v1/console/..." (JSON fetched with the session cookie) or data-json="<id>" (a
   <script type="application/json" id="<id>"> block). When the data holds nothing to draw, the element shows
   an empty state with its data-empty text. A drawn chart gets data-drawn="1" (tests wait for it).

   召测: a button with data-read-meter="<12-digit address>" posts an on_demand_read job to
   POST /api/v1/devices/jobs (CSRF token from <meta name="csrf-token"> in X-CSRF-Token) and polls
   GET /api/v1/devices/jobs/{id}?wait_s=10 until the job is done, failed or timed out. */
(function () {
  "use strict";

  var BRAND = "#00706b";
  var BANDS = { negative: "#7a8899", qualified: "#2e9e6b", high: "#d9534f" };
  var FINAL = { confirmed: true, failed: true, timed_out: true };
  var LANG = document.body.getAttribute("data-lang") === "en" ? "en" : "zh";
  var TEXT = {
    zh: { noData: "暂无数据", failed: "图表数据加载失败", days: "天有数据", avg: "日均", timeout: "仍在排队，请稍后在任务列表查看" },
    en: { noData: "No data", failed: "Chart data could not be loaded", days: "days with data", avg: "Daily average", timeout: "still queued; see the job list later" }
  }[LANG];

  function shortDates(dates) {
    return dates.map(function (d) { return String(d).slice(5); });
  }

  function hasValue(values) {
    return (values || []).some(function (v) { return v !== null && v !== undefined; });
  }

  function showEmpty(el, hint, title) {
    el.classList.add("chart-empty");
    el.textContent = "";
    var box = document.createElement("div");
    box.className = "empty-state";
    var strong = document.createElement("strong");
    strong.textContent = title || TEXT.noData;
    box.appendChild(strong);
    if (hint) {
      var p = document.createElement("p");
      p.textContent = hint;
      box.appendChild(p);
    }
    el.appendChild(box);
  }

  function base(label, unit) {
    return {
      animation: false,
      color: [BRAND],
      tooltip: { trigger: "axis" },
      grid: { left: 52, right: 18, top: 30, bottom: 36 },
      yAxis: { type: "value", name: unit, nameTextStyle: { padding: [0, 0, 0, -24] } },
      series: [{ name: label }]
    };
  }

  var KINDS = {
    /* daily collection success rate [%] of the last 30 freeze days; nothing collected in 30 days
       (the master station has not run yet) is an empty state, not a flat 0 % line */
    trend: function (data, label) {
      if (!(data.collected || []).some(function (n) { return n > 0; })) return null;
      var o = base(label, "%");
      var values = data.rate_pct.filter(function (v) { return v !== null; });
      var low = Math.min.apply(null, values);
      o.xAxis = { type: "category", data: shortDates(data.dates), boundaryGap: false };
      var range = 100 - low;
      var step = range < 8 ? 2 : range < 20 ? 5 : range < 40 ? 10 : 20;
      o.yAxis.min = Math.max(0, Math.floor((low - 1) / step) * step);
      o.yAxis.max = 100;
      o.yAxis.interval = step;
      o.series[0] = {
        name: label, type: "line", data: data.rate_pct, connectNulls: false, symbolSize: 5,
        areaStyle: { opacity: 0.12 }, lineStyle: { width: 2 }
      };
      return o;
    },
    /* histogram of the 台区 loss rates of the latest computed day */
    loss: function (data, label) {
      var bins = data.bins || [];
      if (!data.day || !bins.some(function (b) { return b.count > 0; })) return null;
      var o = base(label, "");
      o.tooltip = { trigger: "axis", axisPointer: { type: "shadow" } };
      o.xAxis = { type: "category", data: bins.map(function (b) { return b.label; }), axisLabel: { interval: 0, fontSize: 11 } };
      o.yAxis.minInterval = 1;
      o.series[0] = {
        name: label, type: "bar", barMaxWidth: 38,
        data: bins.map(function (b) { return { value: b.count, itemStyle: { color: BANDS[b.band] || BRAND } }; })
      };
      return o;
    },
    /* one 台区's daily loss rate [%] */
    "area-loss": function (data, label) {
      if (!hasValue(data.rate_pct)) return null;
      var o = base(label, "%");
      o.xAxis = { type: "category", data: shortDates(data.dates) };
      o.series[0] = { name: label, type: "line", data: data.rate_pct, connectNulls: false, symbolSize: 5 };
      return o;
    },
    /* a customer's daily consumption [kWh] */
    energy: function (data, label) {
      if (!data.days_with_data) return null;
      var o = base(label, "kWh");
      o.xAxis = { type: "category", data: shortDates(data.dates) };
      o.series[0] = { name: label, type: "bar", data: data.kwh, barMaxWidth: 18 };
      return o;
    },
    /* a customer's monthly consumption [kWh] (self-service usage page) */
    monthly: function (data, label) {
      if (!data.months_with_data) return null;
      var o = base(label, "kWh");
      o.xAxis = { type: "category", data: data.months };
      o.series[0] = { name: label, type: "bar", data: data.kwh, barMaxWidth: 32 };
      return o;
    }
  };

  function fillTotal(el, data) {
    var id = el.getAttribute("data-total");
    if (!id || data.total_kwh === null || data.total_kwh === undefined) return;
    var total = document.getElementById(id);
    if (total) {
      total.textContent = data.total_kwh.toLocaleString(LANG === "en" ? "en-US" : "zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      var u = document.createElement("span");
      u.className = "unit";
      u.textContent = "kWh";
      total.appendChild(u);
    }
    var sub = document.getElementById("energy-days");
    if (sub && data.days_with_data) {
      sub.textContent = (el.getAttribute("data-total-label") || TEXT.avg) + " " +
        (data.total_kwh / data.days_with_data).toFixed(2) + " kWh · " + data.days_with_data + " " + TEXT.days;
    }
  }

  function draw(el, data) {
    var kind = KINDS[el.getAttribute("data-chart")];
    var label = el.getAttribute("data-label") || "";
    var options = kind ? kind(data, label) : null;
    if (!options) {
      showEmpty(el, el.getAttribute("data-empty"));
      return;
    }
    if (!window.echarts) {
      showEmpty(el, "echarts.min.js", TEXT.failed);
      return;
    }
    var chart = window.echarts.init(el);
    chart.setOption(options);
    fillTotal(el, data);
    el.setAttribute("data-drawn", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function load(el) {
    var block = el.getAttribute("data-json");
    if (block) {
      var node = document.getElementById(block);
      if (node) draw(el, JSON.parse(node.textContent));
      return;
    }
    var src = el.getAttribute("data-src");
    if (!src) return;
    fetch(src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(src + ": HTTP " + r.status);
        return r.json();
      })
      .then(function (data) { draw(el, data); })
      .catch(function (err) {
        showEmpty(el, String(err.message || err), TEXT.failed);
        el.setAttribute("data-failed", "1");
      });
  }

  /* -- 召测 on-demand read ------------------------------------------------------------------------ */

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function describe(job) {
    var r = job.result || {};
    var values = (r.values || []).map(function (v) {
      return (v.value === null ? "—" : v.value) + (v.unit ? " " + v.unit : "");
    });
    return values.join(" / ");
  }

  function api(method, url, body) {
    var headers = { Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
    return fetch(url, {
      method: method, credentials: "same-origin", headers: headers, body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (!r.ok) throw new Error(typeof json.detail === "string" ? json.detail : "HTTP " + r.status);
        return json;
      });
    });
  }

  function poll(id, rounds) {
    return api("GET", "/api/v1/devices/jobs/" + id + "?wait_s=10").then(function (job) {
      if (FINAL[job.state] || rounds <= 1) return job;
      return poll(id, rounds - 1);
    });
  }

  function readNow(button) {
    var output = button.parentNode.querySelector("output");
    var idle = button.textContent;
    button.disabled = true;
    button.textContent = button.getAttribute("data-busy");
    output.className = "read-output";
    output.textContent = "";
    api("POST", "/api/v1/devices/jobs", { kind: "on_demand_read", meter_address: button.getAttribute("data-read-meter") })
      .then(function (job) {
        output.textContent = "#" + job.id + " …";
        return poll(job.id, 6);
      })
      .then(function (job) {
        if (job.state === "confirmed") {
          output.className = "read-output ok";
          output.textContent = button.getAttribute("data-done") + " #" + job.id + ": " + describe(job);
        } else if (FINAL[job.state]) {
          output.className = "read-output bad";
          output.textContent = button.getAttribute("data-failed") + " #" + job.id + ": " + (job.error || job.state);
        } else {
          output.textContent = "#" + job.id + ": " + TEXT.timeout;
        }
        output.setAttribute("data-job-id", String(job.id));
        output.setAttribute("data-state", job.state);
      })
      .catch(function (err) {
        output.className = "read-output bad";
        output.textContent = button.getAttribute("data-failed") + ": " + (err.message || err);
        output.setAttribute("data-state", "error");
      })
      .then(function () {
        button.disabled = false;
        button.textContent = idle;
      });
  }

  function start() {
    document.querySelectorAll("[data-chart]").forEach(load);
    document.querySelectorAll("button[data-read-meter]").forEach(function (button) {
      button.addEventListener("click", function () { readNow(button); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
