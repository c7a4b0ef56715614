import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { makeTempDir } from '@vptq/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

import { quantizationReportFile, readQuantizationReport } from '../report/quantization-report';

const cli = resolve(fileURLToPath(import.meta.url), '../../../dist/cli.js');
const examples = resolve(fileURLToPath(import.meta.url), '../../../../../examples/stories260K');
const model = join(examples, 'stories260K.bin');
const valid = join(examples, 'valid-dev-000-499.txt');
const quick = ['--calib', join(examples, 'calibration.txt'), '--kmeans-iterations', '2', '--refine-iterations', '1', '--calib-tokens', '2048', '--device', 'cpu'];

/** Runs the built CLI to its end. */
function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('exit', (code) => done({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** The report a page embeds. */
function embeddedReport(file: string): unknown {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`${file} embeds no report`);
  return JSON.parse(match[1]);
}

describe('vptq quantize --report and vptq report', () => {
  const dir = makeTempDir();
  const out = join(dir, 'stories260K-vptq');
  const page = join(dir, 'pages', 'report.html');

  beforeAll(async () => {
    const run = await runCli(['quantize', '-m', model, ...quick, '-o', out, '--report', page]);
    expect(run.stderr).not.toMatch(/^vptq: /m);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote the report ${page}`);
  }, 120_000);

  it('quantize keeps the report data in the output directory and writes the page from it', () => {
    const report = readQuantizationReport(out);
    expect(report.layers).toHaveLength(5);
    expect(report.layers.every((layer) => layer.projections.length === 7)).toBe(true);
    expect(report.settings).toMatchObject({ kmeansIterations: 2, refineIterations: 1, calibrationTokens: 2048 });
    const q = report.layers[0].projections[0];
    expect(q.name).toBe('model.layers.0.self_attn.q_proj');
    expect(q.proxyErrorStages?.refinements).toHaveLength(1);
    expect(q.kmeans?.map((run) => [run.codebook, run.iterations])).toEqual([
      ['main', 2],
      ['residual', 2],
    ]);
    expect(report.timing.layers.map((layer) => layer.resumed)).toEqual([false, false, false, false, false]);
    expect(embeddedReport(page)).toEqual(JSON.parse(readFileSync(join(out, quantizationReportFile), 'utf8')));
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('Chart.js v4');
    expect(html).not.toMatch(/<(script|img|link|iframe)\b[^>]*\s(src|href)=["']?https?:/i);
  });

  it('report writes the page of an existing output, by default beside the directory', async () => {
    const file = join(dir, 'again.html');
    const run = await runCli(['report', out, '-o', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`wrote ${file}\n`);
    expect(embeddedReport(file)).toEqual(readQuantizationReport(out));
    const byDefault = await runCli(['report', out]);
    expect(byDefault.code).toBe(0);
    expect(existsSync(`${out}-report.html`)).toBe(true);
  });

  it('eval --record-in adds perplexity rows that the page then shows', async () => {
    const copy = join(dir, 'evaluated');
    cpSync(out, copy, { recursive: true });
    for (const evaluated of [model, copy]) {
      const run = await runCli(['eval', '-m', evaluated, '--text', valid, '--max-stories', '3', '--record-in', copy]);
      expect(run.stderr).not.toMatch(/^vptq: /m);
      expect(run.code).toBe(0);
    }
    const { perplexity } = readQuantizationReport(copy);
    expect(perplexity.map((row) => [row.label, row.text, row.stories])).toEqual([
      [model, 'valid-dev-000-499.txt', 3],
      [copy, 'valid-dev-000-499.txt', 3],
    ]);
    expect(perplexity[1].perplexity).toBeGreaterThan(perplexity[0].perplexity);
    // The same label and text again replaces its row.
    expect((await runCli(['eval', '-m', model, '--text', valid, '--max-stories', '2', '--record-in', copy])).code).toBe(0);
    expect(readQuantizationReport(copy).perplexity.map((row) => [row.label, row.stories])).toEqual([
      [copy, 3],
      [model, 2],
    ]);
    const file = join(dir, 'evaluated.html');
    expect((await runCli(['report', copy, '-o', file])).code).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<canvas id="chart-perplexity"');
    expect(html).toContain(`<td class="number">${perplexity[1].perplexity.toFixed(4)}</td>`);
  });

  it('demo --report records the full-precision and quantized perplexity and writes the page with them', async () => {
    const demoOut = join(dir, 'demo');
    const demoPage = join(dir, 'demo.html');
    const run = await runCli(['demo', '-m', model, ...quick, '--text', valid, '--max-stories', '2', '-o', demoOut, '--report', demoPage]);
    expect(run.stderr).not.toMatch(/^vptq: /m);
    expect(run.code).toBe(0);
    const { perplexity } = readQuantizationReport(demoOut);
    expect(perplexity.map((row) => [row.label, row.model, row.text, row.stories])).toEqual([
      ['fp32', model, 'valid-dev-000-499.txt', 2],
      ['VPTQ v8-k256-r256', demoOut, 'valid-dev-000-499.txt', 2],
    ]);
    // The same numbers the demo printed.
    expect(run.stdout).toContain(`perplexity ${perplexity[0].perplexity.toFixed(4)} over ${perplexity[0].tokens} tokens`);
    expect(run.stdout).toContain(`perplexity ${perplexity[1].perplexity.toFixed(4)} over ${perplexity[1].tokens} tokens`);
    expect(embeddedReport(demoPage)).toEqual(readQuantizationReport(demoOut));
  });

  it('errors name the problem: a missing directory, one without report data, a broken report, a page path that is a directory', async () => {
    const missing = join(dir, 'missing');
    const notFound = await runCli(['report', missing]);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toBe(`vptq: report: ${missing} does not exist [VPTQ_REPORT_MISSING]\n`);

    const plain = join(dir, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, 'config.json'), '{}');
    const noData = await runCli(['report', plain]);
    expect(noData.code).toBe(1);
    expect(noData.stderr).toMatch(new RegExp(`^vptq: report: ${plain} holds no quantization-report\\.json: it is not an output directory of vptq quantize.* \\[VPTQ_REPORT_MISSING\\]\\n$`));
    expect(existsSync(`${plain}-report.html`)).toBe(false);

    const broken = join(dir, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, quantizationReportFile), '{"format":');
    expect((await runCli(['report', broken])).stderr).toMatch(/quantization-report\.json is not valid JSON .* \[VPTQ_REPORT_INVALID\]/);
    writeFileSync(join(broken, quantizationReportFile), '{"format":"something-else"}');
    expect((await runCli(['report', broken])).stderr).toMatch(/is not a vptq quantization report \(format "something-else", expected "vptq-quantization-report"\)/);

    const evalInto = await runCli(['eval', '-m', model, '--text', valid, '--record-in', plain]);
    expect(evalInto.code).toBe(1);
    expect(evalInto.stderr).toMatch(/holds no quantization-report\.json/);

    const intoDirectory = await runCli(['quantize', '-m', model, ...quick, '-o', join(dir, 'never'), '--report', dir]);
    expect(intoDirectory.code).toBe(1);
    expect(intoDirectory.stderr).toBe(`vptq: report: ${dir} is a directory; give the HTML file to write\n`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
