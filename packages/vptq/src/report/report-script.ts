/**
 * The script of a report page: it reads the report from `<script type="application/json" id="report-data">` and
 * draws each chart with Chart.js (the global `Chart`, inlined before it) into the `<canvas>` of that id, where the
 * page has one. When done it sets `data-charts="ready"` on `<body>` (a screenshot can wait for it); on failure
 * `data-charts="error"` and the message in `#chart-status`.
 *
 * Static text (plain ES2017, no build step, nothing interpolated): the data travels as JSON, like a shader's
 * uniforms (conventions §4.9).
 */
export const reportScript = /* js */ `
(function () {
  'use strict';
  var palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  var kindColors = { main: palette[0], residual: palette[1], outlier: palette[2] };

  function shortName(name) {
    var match = /^model\\.layers\\.(\\d+)\\.(?:self_attn|mlp)\\.(\\w+?)(?:_proj)?$/.exec(name);
    return match ? match[1] + '.' + match[2] : name;
  }

  function translucent(color, alpha) {
    var value = parseInt(color.slice(1), 16);
    return 'rgba(' + (value >> 16) + ',' + ((value >> 8) & 255) + ',' + (value & 255) + ',' + alpha + ')';
  }

  function axis(title, extra) {
    var scale = { title: { display: true, text: title } };
    for (var key in extra) scale[key] = extra[key];
    return scale;
  }

  function options(scales, extra) {
    var result = {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { position: 'bottom' } },
      scales: scales
    };
    for (var key in extra) result[key] = extra[key];
    return result;
  }

  function series(type, label, data, colorIndex) {
    var color = palette[colorIndex % palette.length];
    return { type: type, label: label, data: data, borderColor: color, backgroundColor: type === 'bar' ? translucent(color, 0.75) : color, borderWidth: type === 'bar' ? 0 : 1.5, pointRadius: type === 'bar' ? undefined : 2 };
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  function drawAll(report) {
    var projections = [];
    report.layers.forEach(function (layer) {
      layer.projections.forEach(function (projection) { projections.push(projection); });
    });
    var labels = projections.map(function (projection) { return shortName(projection.name); });
    var stages = projections.filter(function (projection) { return projection.proxyErrorStages; }).length === projections.length && projections.length > 0;
    var stage = function (key) {
      return projections.map(function (projection) { return projection.proxyErrorStages[key]; });
    };
    var proxy = projections.map(function (projection) { return projection.proxyError; });

    var errorSets = [];
    if (stages) {
      errorSets.push(series('line', 'k-means assignment (no error feedback)', stage('before'), 0));
      var twoPasses = projections.some(function (projection) { return projection.proxyErrorStages.firstPass !== projection.proxyErrorStages.unrefined; });
      if (twoPasses) errorSets.push(series('line', 'first column loop (main codebook)', stage('firstPass'), 3));
      errorSets.push(series('line', 'before refinement', stage('unrefined'), 1));
      errorSets.push(series('line', 'after refinement (stored)', proxy, 2));
    } else {
      errorSets.push(series('line', 'proxy error', proxy, 2));
    }
    draw('chart-proxy-error', {
      type: 'line',
      data: { labels: labels, datasets: errorSets },
      options: options({ x: axis('projection (layer.name)'), y: axis('proxy error tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ)', { type: 'logarithmic', ticks: { callback: function (value) { return Number(value).toExponential(0); } } }) })
    });
    if (stages) {
      var gain = projections.map(function (projection) {
        var s = projection.proxyErrorStages;
        return s.unrefined > 0 ? (100 * (s.unrefined - s.after)) / s.unrefined : 0;
      });
      var rounds = projections.map(function (projection) { return projection.proxyErrorStages.refinements.length; });
      draw('chart-refinement', {
        type: 'bar',
        data: { labels: labels, datasets: [series('bar', 'proxy error removed by refinement (%)', gain, 4), Object.assign(series('line', 'refinement rounds run', rounds, 6), { yAxisID: 'rounds', showLine: false, pointRadius: 3 })] },
        options: options({ x: axis('projection (layer.name)'), y: axis('% of the error before refinement', { beginAtZero: true }), rounds: axis('rounds', { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } }) })
      });
    }

    draw('chart-bits', {
      type: 'bar',
      data: {
        labels: labels,
        datasets: [
          series('bar', 'index bits per weight', projections.map(function (projection) { return projection.indexBits; }), 0),
          series('bar', 'total bits per weight (codebooks, norm, perm included)', projections.map(function (projection) { return projection.totalBits; }), 1)
        ]
      },
      options: options({ x: axis('projection (layer.name)'), y: axis('bits per weight', { beginAtZero: true }) })
    });

    var kinds = [];
    var curves = [];
    projections.forEach(function (projection, index) {
      (projection.kmeans || []).forEach(function (run) {
        if (kinds.indexOf(run.codebook) < 0) kinds.push(run.codebook);
        if (run.objectives.length === 0 || !(run.objectives[0] > 0)) return;
        var first = run.objectives[0];
        curves.push({
          type: 'line',
          label: run.codebook + ' codebooks',
          projection: labels[index] + (run.codebook === 'outlier' ? '' : ' g' + run.group),
          data: run.objectives.map(function (objective, iteration) { return { x: iteration + 1, y: objective / first }; }),
          borderColor: translucent(kindColors[run.codebook] || palette[4], 0.45),
          backgroundColor: kindColors[run.codebook] || palette[4],
          borderWidth: 1,
          pointRadius: 0
        });
      });
    });
    if (kinds.length > 0) {
      var iterationSets = kinds.map(function (kind) {
        var data = projections.map(function (projection) {
          var most = null;
          (projection.kmeans || []).forEach(function (run) { if (run.codebook === kind) most = Math.max(most === null ? 0 : most, run.iterations); });
          return most;
        });
        var set = series('bar', kind + ' codebook', data, 0);
        set.backgroundColor = translucent(kindColors[kind] || palette[4], 0.75);
        return set;
      });
      draw('chart-kmeans-iterations', {
        type: 'bar',
        data: { labels: labels, datasets: iterationSets },
        options: options({ x: axis('projection (layer.name)'), y: axis('Lloyd iterations run (most over groups)', { beginAtZero: true, ticks: { precision: 0 } }) })
      });
      draw('chart-kmeans-objective', {
        type: 'line',
        data: { datasets: curves },
        options: options(
          { x: axis('iteration', { type: 'linear', ticks: { precision: 0 } }), y: axis('objective / objective after iteration 1') },
          {
            interaction: { mode: 'nearest', intersect: false },
            plugins: {
              legend: {
                position: 'bottom',
                labels: {
                  filter: function (item, data) {
                    var index = -1;
                    for (var i = 0; i < data.datasets.length; i++) if (data.datasets[i].label === item.text) { index = i; break; }
                    return index === item.datasetIndex;
                  }
                }
              },
              tooltip: { callbacks: { label: function (context) { return context.dataset.projection + ' ' + context.dataset.label + ': ' + context.parsed.y.toFixed(5); } } }
            }
          }
        )
      });
    }

    var timing = report.timing.layers;
    var phases = [];
    timing.forEach(function (layer) {
      Object.keys(layer.seconds).forEach(function (phase) { if (phases.indexOf(phase) < 0) phases.push(phase); });
    });
    draw('chart-time', {
      type: 'bar',
      data: {
        labels: timing.map(function (layer) { return 'layer ' + layer.layer + (layer.resumed ? ' (resumed)' : ''); }),
        datasets: phases.map(function (phase, index) {
          return series('bar', phase, timing.map(function (layer) { return layer.seconds[phase] || 0; }), index);
        })
      },
      options: options({ x: axis('decoder layer', { stacked: true }), y: axis('seconds', { stacked: true, beginAtZero: true }) })
    });

    if (report.perplexity.length > 0) {
      draw('chart-perplexity', {
        type: 'bar',
        data: {
          labels: report.perplexity.map(function (row) { return row.label + ' (' + row.text + ')'; }),
          datasets: [series('bar', 'perplexity (lower is better)', report.perplexity.map(function (row) { return row.perplexity; }), 0)]
        },
        options: options({ x: axis('model'), y: axis('perplexity', { beginAtZero: true }) }, { plugins: { legend: { display: false } } })
      });
    }
  }

  try {
    drawAll(JSON.parse(document.getElementById('report-data').textContent));
    document.body.setAttribute('data-charts', 'ready');
  } catch (error) {
    document.body.setAttribute('data-charts', 'error');
    var status = document.getElementById('chart-status');
    if (status) {
      status.textContent = 'The charts could not be drawn: ' + (error && error.message ? error.message : String(error));
      status.hidden = false;
    }
  }
})();
`;
