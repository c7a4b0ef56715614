import { describeQuantization } from '../quantize/describe-vptq';
import { readChartJsSource } from './chart-js-source';
import type { QuantizationReport, ReportLayer } from './quantization-report';
import { reportScript } from './report-script';

/** Options of {@link renderQuantizationReport}. */
export interface RenderReportOptions {
  /**
   * The charting library's script, defining the global `Chart` (Chart.js 4's UMD build). Default: read from the
   * installed `chart.js` package.
   */
  readonly chartJs?: string;
}

type Projection = ReportLayer['projections'][number];

/**
 * The quantization report as one self-contained HTML page: summary, perplexity table, per-projection proxy error
 * before and after refinement, bits per weight, k-means convergence, time per phase of every layer, and every number
 * in tables. Charts are drawn by Chart.js, inlined with the data (the report as JSON in `#report-data`), so the page
 * needs no network (its Content-Security-Policy allows none).
 *
 * @example
 * ```ts
 * import { readQuantizationReport, renderQuantizationReport } from 'vptq/node';
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('report.html', renderQuantizationReport(readQuantizationReport('stories260K-vptq')));
 * ```
 */
export function renderQuantizationReport(report: QuantizationReport, options: RenderReportOptions = {}): string {
  const chartJs = options.chartJs ?? readChartJsSource();
  const projections = report.layers.flatMap((layer) => layer.projections);
  const setting = describeQuantization(report.settings);
  const title = `${report.model}: ${setting}`;
  const withStages = projections.length > 0 && projections.every((projection) => projection.proxyErrorStages !== undefined);
  const withKmeans = projections.some((projection) => (projection.kmeans?.length ?? 0) > 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>Quantization report: ${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>Quantization report</h1>
<p class="subtitle">${escapeHtml(title)} on ${escapeHtml(report.deviceDescription)}</p>
</header>
<p id="chart-status" class="status" hidden></p>
<noscript><p class="status">The charts need JavaScript; the tables hold the same numbers.</p></noscript>
${summarySection(report, projections)}
${perplexitySection(report)}
<section id="proxy-error">
<h2>Proxy error per projection</h2>
<p>The normalized proxy error tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ) of each quantized projection, H the Hessian of its inputs on the calibration text${withStages ? ': at the k-means assignment, after the column loop with the k-means codebooks, and after the codebook refinement (the weight stored)' : ''}.</p>
<div class="chart"><canvas id="chart-proxy-error" role="img" aria-label="proxy error per projection"></canvas></div>
${withStages ? '<div class="chart"><canvas id="chart-refinement" role="img" aria-label="proxy error removed by refinement"></canvas></div>' : ''}
</section>
<section id="bits">
<h2>Bits per weight</h2>
<p>Index bits (the codes) and total bits (codes, codebooks, norm, permutation and padding) per weight of each projection; over the whole model ${formatBits(report.indexBitsPerWeight)} and ${formatBits(report.totalBitsPerWeight)}.</p>
<div class="chart"><canvas id="chart-bits" role="img" aria-label="bits per weight per projection"></canvas></div>
</section>
${withKmeans ? kmeansSection(report, projections) : ''}
${timeSection(report)}
${projectionSection(report, withStages)}
${settingsSection(report)}
<footer>Written by vptq from <code>quantization-report.json</code>; charts drawn by Chart.js (MIT), inlined.</footer>
<script type="application/json" id="report-data">${embedJson(report)}</script>
<script>${inlineScript(chartJs)}</script>
<script>${inlineScript(reportScript)}</script>
</body>
</html>
`;
}

function summarySection(report: QuantizationReport, projections: readonly Projection[]): string {
  const mean = projections.reduce((sum, projection) => sum + projection.proxyError, 0) / Math.max(1, projections.length);
  const facts: [string, string][] = [
    ['model', report.model],
    ['method', describeQuantization(report.settings)],
    ['device', report.deviceDescription],
    ['index bits / weight', formatBits(report.indexBitsPerWeight)],
    ['total bits / weight', formatBits(report.totalBitsPerWeight)],
    ['mean proxy error', formatError(mean)],
    ['decoder layers', String(report.layers.length)],
    ['quantized projections', String(projections.length)],
    ['calibration tokens', String(report.calibrationTokens)],
    ['time', `${formatSeconds(report.timing.totalSeconds)}${report.timing.resumedLayers > 0 ? ` (${report.timing.resumedLayers} layers resumed from an earlier run)` : ''}`],
  ];
  return `<section id="summary">
<h2>Summary</h2>
<dl class="facts">${facts.map(([name, value]) => `<div><dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd></div>`).join('')}</dl>
</section>`;
}

function perplexitySection(report: QuantizationReport): string {
  if (report.perplexity.length === 0) {
    return `<section id="perplexity">
<h2>Perplexity</h2>
<p class="note">No perplexity recorded yet: <code>vptq demo</code> records the full-precision and quantized perplexity, and <code>vptq eval --record-in DIR</code> adds a row.</p>
</section>`;
  }
  const reference = report.perplexity[0].perplexity;
  const rows = report.perplexity.map(
    (row) =>
      `<tr><td>${escapeHtml(row.label)}</td><td>${escapeHtml(row.model)}</td><td>${escapeHtml(row.text)}</td><td class="number">${row.perplexity.toFixed(4)}</td>` +
      `<td class="number">${(row.perplexity / reference).toFixed(3)}×</td><td class="number">${row.tokens}</td><td class="number">${row.stories}</td></tr>`,
  );
  return `<section id="perplexity">
<h2>Perplexity</h2>
<div class="chart short"><canvas id="chart-perplexity" role="img" aria-label="perplexity"></canvas></div>
<table><thead><tr><th>label</th><th>model</th><th>text</th><th>perplexity</th><th>vs first row</th><th>tokens</th><th>stories</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
</section>`;
}

function kmeansSection(report: QuantizationReport, projections: readonly Projection[]): string {
  const runs = projections.flatMap((projection) => projection.kmeans ?? []);
  const converged = runs.filter((run) => run.converged).length;
  const iterations = runs.map((run) => run.iterations);
  const mean = iterations.reduce((sum, value) => sum + value, 0) / Math.max(1, iterations.length);
  return `<section id="kmeans">
<h2>k-means convergence</h2>
<p>${runs.length} k-means runs (one per codebook), at most ${report.settings.kmeansIterations} Lloyd iterations each: ${converged} converged before the limit; ${mean.toFixed(1)} iterations on average, ${Math.max(...iterations)} at most. The second chart shows each run's weighted objective relative to its value after the first iteration.</p>
<div class="chart"><canvas id="chart-kmeans-iterations" role="img" aria-label="k-means iterations per projection"></canvas></div>
<div class="chart"><canvas id="chart-kmeans-objective" role="img" aria-label="k-means objective per iteration"></canvas></div>
</section>`;
}

function timeSection(report: QuantizationReport): string {
  const phases = [...new Set(report.timing.layers.flatMap((layer) => Object.keys(layer.seconds)))];
  const rows = report.timing.layers.map((layer) => {
    const total = Object.values(layer.seconds).reduce((sum, value) => sum + value, 0);
    const cells = phases.map((phase) => `<td class="number">${layer.seconds[phase] === undefined ? '' : layer.seconds[phase].toFixed(3)}</td>`).join('');
    return `<tr><td>${layer.layer}${layer.resumed ? ' (resumed)' : ''}</td>${cells}<td class="number">${total.toFixed(3)}</td></tr>`;
  });
  return `<section id="time">
<h2>Time per phase</h2>
<p>Wall-clock seconds of each decoder layer by phase; ${formatSeconds(report.timing.totalSeconds)} in all, until the output was written.${report.timing.resumedLayers > 0 ? ' Resumed layers show the phases of the run that quantized them, and this run&#39;s replay.' : ''}</p>
<div class="chart"><canvas id="chart-time" role="img" aria-label="time per phase of each layer"></canvas></div>
<table><thead><tr><th>layer</th>${phases.map((phase) => `<th>${escapeHtml(phase)}</th>`).join('')}<th>total</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
</section>`;
}

function projectionSection(report: QuantizationReport, withStages: boolean): string {
  const stageHeads = withStages ? '<th>k-means assignment</th><th>first loop</th><th>before refinement</th><th>rounds</th>' : '';
  const rows = report.layers.flatMap((layer) =>
    layer.projections.map((projection) => {
      const stages = projection.proxyErrorStages;
      const stageCells =
        withStages && stages
          ? `<td class="number">${formatError(stages.before)}</td><td class="number">${formatError(stages.firstPass)}</td>` +
            `<td class="number">${formatError(stages.unrefined)}</td><td class="number">${stages.refinements.length}</td>`
          : '';
      const kmeans = (projection.kmeans ?? []).map((run) => `${run.codebook}${run.codebook === 'outlier' ? '' : ` g${run.group}`} ${run.iterations}${run.converged ? '' : '*'}`).join(', ');
      return (
        `<tr><td>${layer.layer}</td><td>${escapeHtml(projection.name)}</td><td class="number">${projection.outFeatures}×${projection.inFeatures}</td>` +
        `${stageCells}<td class="number">${formatError(projection.proxyError)}</td><td class="number">${formatBits(projection.indexBits)}</td>` +
        `<td class="number">${formatBits(projection.totalBits)}</td><td>${escapeHtml(kmeans)}</td></tr>`
      );
    }),
  );
  return `<section id="projections">
<h2>Every projection</h2>
<p>Proxy errors as in the chart; “k-means iterations” lists each codebook's Lloyd iterations (* = stopped by the limit, not converged).</p>
<div class="scroll"><table><thead><tr><th>layer</th><th>projection</th><th>out×in</th>${stageHeads}<th>proxy error (stored)</th><th>index bits</th><th>total bits</th><th>k-means iterations</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div>
</section>`;
}

function settingsSection(report: QuantizationReport): string {
  const rows = Object.entries(report.settings).map(([name, value]) => `<tr><td><code>${escapeHtml(name)}</code></td><td>${escapeHtml(String(value))}</td></tr>`);
  return `<section id="settings">
<h2>Settings</h2>
<table><thead><tr><th>option</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>
</section>`;
}

/** Text for HTML element content and attribute values. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => htmlEntities[character]);
}

const htmlEntities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * JSON inside `<script type="application/json">`: `<`, `>` and `&` as JSON escapes, so no string in the report can
 * close the element or open a comment, and `JSON.parse` of the element's text gives the report back.
 */
function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Script text inside `<script>`: a `</script` in it (in a string or comment) would end the element early. */
function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

function formatError(value: number): string {
  return value.toExponential(3);
}

function formatBits(value: number): string {
  return value.toFixed(3);
}

function formatSeconds(seconds: number): string {
  return seconds >= 60 ? `${Math.floor(seconds / 60)} min ${(seconds % 60).toFixed(0)} s` : `${seconds.toFixed(1)} s`;
}

const style = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 24px; margin: 8px 0 0; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.subtitle { color: #57606a; margin: 4px 0 0; }
.status { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; }
.note { color: #57606a; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 8px; margin: 0; }
.facts div { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; }
.facts dt { color: #57606a; font-size: 12px; }
.facts dd { margin: 2px 0 0; font-size: 16px; font-weight: 600; overflow-wrap: anywhere; }
.chart { position: relative; height: 340px; margin: 12px 0; }
.chart.short { height: 220px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
footer { margin-top: 32px; color: #57606a; font-size: 12px; }
`;
