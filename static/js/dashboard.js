/* The dashboard's charts: data from the page's <script type="application/json" id="chart-data">
   (Django's json_script), no inline code, so a strict Content-Security-Policy holds. */
(function () {
  "use strict";

  function init() {
    var node = document.getElementById("chart-data");
    if (!node || !window.echarts) { return; }
    var data = JSON.parse(node.textContent);
    var printing = window.matchMedia && window.matchMedia("print").matches;
    var charts = [];

    var progressEl = document.getElementById("progress-chart");
    if (progressEl) {
      var progress = echarts.init(progressEl, null, { renderer: "svg" });
      var doneSeries = {
        name: data.labels.done, type: "line", data: data.done, smooth: false, symbolSize: 6,
        lineStyle: { width: 3, color: "#c0392b" }, itemStyle: { color: "#c0392b" }, areaStyle: { opacity: 0.08 }
      };
      if (data.today) {
        doneSeries.markLine = {
          symbol: "none", silent: true, label: { formatter: data.labels.today }, lineStyle: { color: "#666", type: "dashed" },
          data: [{ xAxis: data.today }]
        };
      }
      progress.setOption({
        animation: !printing,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 50, right: 20, top: 36, bottom: 30 },
        xAxis: { type: "category", data: data.months, boundaryGap: false },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: data.labels.due, type: "line", step: "end", data: data.due, symbol: "none",
            lineStyle: { width: 2, type: "dashed", color: "#555" }, itemStyle: { color: "#555" } },
          doneSeries
        ]
      });
      charts.push(progress);
    }

    var childrenEl = document.getElementById("children-chart");
    if (childrenEl && data.children.length) {
      childrenEl.style.height = Math.max(160, 40 + data.children.length * 28) + "px";
      var children = echarts.init(childrenEl, null, { renderer: "svg" });
      children.setOption({
        animation: !printing,
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
        grid: { left: 90, right: 40, top: 10, bottom: 30 },
        xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
        yAxis: { type: "category", inverse: true, data: data.children.map(function (c) { return c.name; }) },
        series: [{
          name: data.labels.rate, type: "bar", barMaxWidth: 22, data: data.children.map(function (c) { return c.rate; }),
          itemStyle: { color: "#c0392b" }, label: { show: true, position: "right", formatter: "{c}%" },
          // The 100 % line needs no label of its own: the axis names it (a label overlapped the axis's).
          markLine: { symbol: "none", silent: true, label: { show: false }, data: [{ xAxis: 100 }],
                      lineStyle: { color: "#2e7d32" } }
        }]
      });
      charts.push(children);
    }

    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
    window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  function wire() {
    document.querySelectorAll(".print-button").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("select.auto-submit").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { wire(); init(); });
}());
