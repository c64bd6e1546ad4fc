/* Charts of the MDM console pages (ECharts, vendored at /static/vendor/echarts.min.js).
   Each element with data-chart="<id>" is drawn from the JSON block <script type="application/json" id="<id>">;
   the pages load this file only when ECharts is present (CSP: no inline scripts). */
(function () {
  "use strict";

  function bar(labels, values, name, unit) {
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 48, right: 16, top: 24, bottom: 72 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: 30 } },
      yAxis: { type: "value", name: unit },
      series: [{ name: name, type: "bar", data: values, itemStyle: { color: "#00706b" } }]
    };
  }

  function curve(data) {
    return {
      tooltip: { trigger: "axis" },
      legend: { data: ["供电量 supply kWh", "售电量 sold kWh", "线损率 rate %"] },
      grid: { left: 56, right: 56, top: 40, bottom: 40 },
      xAxis: { type: "category", data: data.labels },
      yAxis: [{ type: "value", name: "kWh" }, { type: "value", name: "%" }],
      series: [
        { name: "供电量 supply kWh", type: "line", data: data.supply, connectNulls: false },
        { name: "售电量 sold kWh", type: "line", data: data.sold, connectNulls: false },
        { name: "线损率 rate %", type: "bar", yAxisIndex: 1, data: data.rate, itemStyle: { color: "#c0504d" } }
      ]
    };
  }

  function options(data) {
    if (data.kind === "rules") return bar(data.labels, data.values, "异常数 flags", "");
    if (data.kind === "ranking") return bar(data.labels, data.values, "线损率 loss rate %", "%");
    if (data.kind === "curve") return curve(data);
    return null;
  }

  function draw() {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var block = document.getElementById(el.getAttribute("data-chart"));
      if (!block) return;
      var opts = options(JSON.parse(block.textContent));
      if (!opts) return;
      var chart = window.echarts.init(el);
      chart.setOption(opts);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
