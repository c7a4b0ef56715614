import { describe, expect, it } from 'vitest';

import { quantizeDefaults } from '../quantize/quantize-defaults';
import { readChartJsSource } from './chart-js-source';
import { createQuantizationReport } from './quantization-report';
import type { QuantizationReport } from './quantization-report';
import { renderQuantizationReport } from './render-report';
import { reportScript } from './report-script';

/** A two-layer report with one projection each, a hostile model name and two perplexity rows. */
function sampleReport(): QuantizationReport {
  const projection = (layer: number, after: number) => ({
    name: `model.layers.${layer}.self_attn.q_proj`,
    outFeatures: 64,
    inFeatures: 64,
    proxyError: after,
    proxyErrorStages: { before: 0.05, firstPass: 0.03, unrefined: 0.02, refinements: [after * 1.5, after], after },
    kmeans: [
      { codebook: 'main' as const, group: 0, iterations: 3, converged: true, objectives: [10, 9, 8.999] },
      { codebook: 'residual' as const, group: 0, iterations: 2, converged: false, objectives: [2, 1.5] },
    ],
    indexBits: 2,
    totalBits: 18.75 + layer,
  });
  return {
    ...createQuantizationReport({
      model: 'evil</script><b>&"model\'.bin',
      method: 'vptq',
      settings: { ...quantizeDefaults, device: 'cpu', kmeansIterations: 3 },
      device: 'cpu',
      deviceDescription: 'CPU',
      calibrationTokens: 2048,
      indexBitsPerWeight: 2,
      totalBitsPerWeight: 19.25,
      layers: [
        { layer: 0, projections: [projection(0, 0.0123)] },
        { layer: 1, projections: [projection(1, 0.0456)] },
      ],
      timing: {
        totalSeconds: 3.5,
        resumedLayers: 1,
        layers: [
          { layer: 0, resumed: true, seconds: { calibrate: 0.5, prepare: 0.01, quantize: 1.25, replay: 0.2 } },
          { layer: 1, resumed: false, seconds: { calibrate: 0.4, prepare: 0.02, quantize: 1.5, checkpoint: 0.03 } },
        ],
      },
    }),
    perplexity: [
      { label: 'fp32', model: 'stories260K.bin', text: 'valid.txt', perplexity: 3.5711, tokens: 9000, stories: 50 },
      { label: 'VPTQ v8-k256-r256', model: 'out', text: 'valid.txt', perplexity: 4.784, tokens: 9000, stories: 50 },
    ],
  };
}

const chartJs = '/* stand-in for Chart.js */ window.Chart = function () {};';

/** The report embedded in a page, parsed back. */
function embedded(html: string): unknown {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!match) throw new Error('no #report-data element');
  return JSON.parse(match[1]);
}

/** The text of every element `<tag …>…</tag>` in `html` (tags not nested). */
function elements(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, 'g'))].map((match) => match[1]);
}

describe('renderQuantizationReport', () => {
  it('embeds the report as JSON that parses back to the same object, hostile strings included', () => {
    const report = sampleReport();
    const html = renderQuantizationReport(report, { chartJs });
    expect(embedded(html)).toEqual(report);
    // Nothing in the data closes the element early: exactly three scripts, the JSON, the library and the page's own.
    expect(html.match(/<script\b/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
  });

  it('escapes every text it writes into the page', () => {
    const html = renderQuantizationReport(sampleReport(), { chartJs });
    expect(html).not.toContain('<b>');
    expect(html).toContain('evil&lt;/script&gt;&lt;b&gt;&amp;&quot;model&#39;.bin');
    expect(elements(html, 'title')[0]).toBe('Quantization report: evil&lt;/script&gt;&lt;b&gt;&amp;&quot;model&#39;.bin: VPTQ v8-k256-r256');
  });

  it('shows the per-layer numbers in its tables and a canvas for every chart', () => {
    const html = renderQuantizationReport(sampleReport(), { chartJs });
    const rows = elements(html, 'tr').map((row) => elements(row, 'td'));
    const projectionRows = rows.filter((cells) => cells[1]?.startsWith('model.layers.'));
    expect(projectionRows.map((cells) => [cells[0], cells[1], cells[7], cells[9]])).toEqual([
      ['0', 'model.layers.0.self_attn.q_proj', '1.230e-2', '18.750'],
      ['1', 'model.layers.1.self_attn.q_proj', '4.560e-2', '19.750'],
    ]);
    expect(projectionRows[0][3]).toBe('5.000e-2'); // k-means assignment
    expect(projectionRows[0][10]).toBe('main g0 3, residual g0 2*');
    const timeRows = rows.filter((cells) => /^\d+( \(resumed\))?$/.test(cells[0] ?? '') && cells.length === 7);
    expect(timeRows).toEqual([
      ['0 (resumed)', '0.500', '0.010', '1.250', '0.200', '', '1.960'],
      ['1', '0.400', '0.020', '1.500', '', '0.030', '1.950'],
    ]);
    const perplexityRows = rows.filter((cells) => cells[2] === 'valid.txt');
    expect(perplexityRows.map((cells) => [cells[0], cells[3], cells[4]])).toEqual([
      ['fp32', '3.5711', '1.000×'],
      ['VPTQ v8-k256-r256', '4.7840', '1.340×'],
    ]);
    const canvases = [...html.matchAll(/<canvas id="([^"]+)"/g)].map((match) => match[1]);
    expect(canvases).toEqual([
      'chart-perplexity',
      'chart-proxy-error',
      'chart-refinement',
      'chart-bits',
      'chart-kmeans-iterations',
      'chart-kmeans-objective',
      'chart-time',
    ]);
  });

  it('says how to get a perplexity table when none was recorded, and leaves out charts without data', () => {
    const report: QuantizationReport = { ...sampleReport(), perplexity: [] };
    const noStages: QuantizationReport = {
      ...report,
      method: 'gptq',
      settings: { ...report.settings, method: 'gptq', bits: 3 },
      layers: report.layers.map((layer) => ({ ...layer, projections: layer.projections.map(({ proxyErrorStages: _s, kmeans: _k, ...rest }) => rest) })),
    };
    const html = renderQuantizationReport(noStages, { chartJs });
    expect(html).toContain('No perplexity recorded yet');
    expect(html).toContain('GPTQ 3-bit');
    expect(html).not.toContain('id="chart-perplexity"');
    expect(html).not.toContain('id="chart-refinement"');
    expect(html).not.toContain('id="chart-kmeans');
  });

  it('is self-contained: Chart.js inlined, no external script, style, link or image, and a CSP that allows no network', () => {
    const source = readChartJsSource();
    expect(source).toMatch(/^\/\*!\n \* Chart\.js v4\./);
    const html = renderQuantizationReport(sampleReport());
    expect(html).toContain(source.slice(0, 2000));
    expect(html).not.toMatch(/<(script|img|iframe)\b[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    expect(html).toContain(`content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"`);
  });
});

/** A stand-in for Chart.js that records each chart it is asked to draw. */
function runReportScript(report: QuantizationReport): { charts: Map<string, { type: string; data: { labels?: string[]; datasets: { label: string; data: unknown[] }[] } }>; body: Map<string, string>; status: { textContent: string; hidden: boolean } } {
  const charts = new Map();
  const body = new Map<string, string>();
  const status = { textContent: '', hidden: true };
  const canvases = ['chart-perplexity', 'chart-proxy-error', 'chart-refinement', 'chart-bits', 'chart-kmeans-iterations', 'chart-kmeans-objective', 'chart-time'];
  const document = {
    body: { setAttribute: (name: string, value: string) => body.set(name, value) },
    getElementById: (id: string) => {
      if (id === 'report-data') return { textContent: JSON.stringify(report) };
      if (id === 'chart-status') return status;
      return canvases.includes(id) ? { id } : null;
    },
  };
  function Chart(canvas: { id: string }, config: unknown) {
    charts.set(canvas.id, config);
  }
  new Function('document', 'Chart', reportScript)(document, Chart);
  return { charts, body, status };
}

describe('reportScript', () => {
  it('draws every chart from the embedded report and marks the page ready', () => {
    const { charts, body } = runReportScript(sampleReport());
    expect(body.get('data-charts')).toBe('ready');
    expect([...charts.keys()].sort()).toEqual(
      ['chart-bits', 'chart-kmeans-iterations', 'chart-kmeans-objective', 'chart-perplexity', 'chart-proxy-error', 'chart-refinement', 'chart-time'],
    );
    const proxy = charts.get('chart-proxy-error');
    expect(proxy?.data.labels).toEqual(['0.q', '1.q']);
    expect(proxy?.data.datasets.map((set) => [set.label, set.data])).toEqual([
      ['k-means assignment (no error feedback)', [0.05, 0.05]],
      ['first column loop (main codebook)', [0.03, 0.03]],
      ['before refinement', [0.02, 0.02]],
      ['after refinement (stored)', [0.0123, 0.0456]],
    ]);
    const bits = charts.get('chart-bits');
    expect(bits?.data.datasets.map((set) => set.data)).toEqual([
      [2, 2],
      [18.75, 19.75],
    ]);
    const time = charts.get('chart-time');
    expect(time?.data.labels).toEqual(['layer 0 (resumed)', 'layer 1']);
    expect(time?.data.datasets.map((set) => [set.label, set.data])).toEqual([
      ['calibrate', [0.5, 0.4]],
      ['prepare', [0.01, 0.02]],
      ['quantize', [1.25, 1.5]],
      ['replay', [0.2, 0]],
      ['checkpoint', [0, 0.03]],
    ]);
    const objective = charts.get('chart-kmeans-objective');
    expect(objective?.data.datasets).toHaveLength(4);
    expect(objective?.data.datasets[0].data).toEqual([
      { x: 1, y: 1 },
      { x: 2, y: 0.9 },
      { x: 3, y: 0.8999 },
    ]);
    expect(charts.get('chart-kmeans-iterations')?.data.datasets.map((set) => [set.label, set.data])).toEqual([
      ['main codebook', [3, 3]],
      ['residual codebook', [2, 2]],
    ]);
    expect(charts.get('chart-perplexity')?.data.datasets[0].data).toEqual([3.5711, 4.784]);
  });

  it('shows the error in the page when a chart cannot be drawn', () => {
    const broken = { ...sampleReport(), timing: { ...sampleReport().timing, layers: [{ layer: 0, resumed: false, seconds: null }] } } as unknown as QuantizationReport;
    const { body, status } = runReportScript(broken);
    expect(body.get('data-charts')).toBe('error');
    expect(status.hidden).toBe(false);
    expect(status.textContent).toMatch(/^The charts could not be drawn: /);
  });
});
