/* The draft's curve: planned collection against the hospitals' demand, read from the page's
   <script type="application/json" id="draft-chart"> (json_script), no inline code (CSP). */
(function () {
  "use strict";

  function init() {
    var node = document.getElementById("draft-chart");
    if (!node || !window.echarts) { return; }
    var data = JSON.parse(node.textContent);
    var charts = [];
    var worst = data.worst;

    var cumulativeEl = document.getElementById("cumulative-chart");
    if (cumulativeEl) {
      var cumulative = echarts.init(cumulativeEl, null, { renderer: "svg" });
      var planned = { name: data.labels.planned, type: "line", data: data.planned, symbolSize: 5,
        lineStyle: { width: 3, color: "#c0392b" }, itemStyle: { color: "#c0392b" } };
      if (worst !== null && worst !== undefined) {
        planned.markPoint = { symbol: "pin", symbolSize: 36, label: { fontSize: 10 },
          data: [{ name: data.labels.worst, coord: [data.periods[worst], data.planned[worst]],
                   value: Math.round(data.planned[worst] - data.demand[worst]) }] };
      }
      cumulative.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 56, right: 16, top: 36, bottom: 30 },
        xAxis: { type: "category", data: data.periods },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: data.labels.demand, type: "line", data: data.demand, symbol: "none",
            lineStyle: { width: 2, type: "dashed", color: "#555" }, itemStyle: { color: "#555" },
            areaStyle: { opacity: 0.06 } },
          planned
        ]
      });
      charts.push(cumulative);
    }

    var periodEl = document.getElementById("period-chart");
    if (periodEl) {
      var perPeriod = echarts.init(periodEl, null, { renderer: "svg" });
      perPeriod.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 56, right: 16, top: 36, bottom: 30 },
        xAxis: { type: "category", data: data.periods },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: data.labels.loads, type: "bar", data: data.loads, itemStyle: { color: "#c0392b" }, barMaxWidth: 28 },
          { name: data.labels.share, type: "line", data: data.share, symbol: "circle", symbolSize: 5,
            lineStyle: { color: "#555" }, itemStyle: { color: "#555" } }
        ]
      });
      charts.push(perPeriod);
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  function wire() {
    document.querySelectorAll("select.auto-submit").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wire(); init(); });
}());
