#!/usr/bin/env node
// `pnpm test:browser`: the demo app (apps/web) and the quantization report in a real browser. Installs Debian's
// `chromium` when missing (scripts/install-chromium.sh; no browser download from elsewhere), builds the app
// (turbo, `--filter=web...`), serves apps/web/dist with scripts/serve-static.mjs (Range requests on), and drives
// headless Chromium through puppeteer-core with WebGPU on SwiftShader (chromiumWebGPUFlags of
// scripts/chromium-webgpu-flags.mjs: --no-sandbox --enable-unsafe-webgpu; docs/browser-webgpu.md). It checks:
//   1. greedy: the page's greedy tokens from the bundled 2-bit model equal the Node CPU runtime's (same prompt and
//      count, loadCpu of the same directory);
//   2. in-tab quantization: it finishes, and the page's perplexity of the quantized model is within 1% of the
//      Node quantizer's (quantize of vptq/node on the same source, calibration text and settings, evaluated by the
//      same `perplexity` on the CPU runtime); the fp32 perplexities agree too;
//   3. the quantization report (`vptq report`) draws its charts (`<body data-charts="ready">`);
// and saves screenshots: out/browser/demo.png, out/browser/report.png. Prints the figures and ends with
// "N passed, N failed"; exits 1 when a check fails.
//
// Options: --no-build (use apps/web/dist as built), --headful (a visible window, where there is a display),
// --quantize=auto|cpu|gpu (the page's in-tab backend; default auto: WebGPU when the tab has an adapter).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { chromiumWebGPUFlags, findChromium } from './chromium-webgpu-flags.mjs';
import { startStaticServer } from './serve-static.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quantizeDevice = (args.find((arg) => arg.startsWith('--quantize=')) ?? '--quantize=auto').split('=')[1];
const outDir = join(root, 'out/browser');
const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (line) => console.log(`test:browser: ${line}`);
const results = [];
const check = (name, ok, detail) => {
  results.push({ name, ok });
  log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
};

// ---- browser and build
let chromium;
try {
  chromium = findChromium();
} catch {
  log('chromium missing; installing it from Debian (scripts/install-chromium.sh)');
  const installed = spawnSync('bash', [join(root, 'scripts/install-chromium.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (installed.status !== 0) {
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  chromium = findChromium();
}
log(`browser ${chromium}`);
if (!args.includes('--no-build')) {
  const t = Date.now();
  execFileSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=web...', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
  log(`built apps/web in ${seconds(Date.now() - t)}`);
}
const dist = join(root, 'apps/web/dist');
const settings = JSON.parse(readFileSync(join(dist, 'demo-settings.json'), 'utf8'));
const vptq = await import(pathToFileURL(join(root, 'packages/vptq/dist/index.js')).href);
const vptqNode = await import(pathToFileURL(join(root, 'packages/vptq/dist/node.js')).href);
const puppeteer = (await import('puppeteer-core')).default;
mkdirSync(outDir, { recursive: true });

const server = await startStaticServer(dist);
const scratch = mkdtempSync(join(tmpdir(), 'vptq-test-browser-'));
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: !args.includes('--headful'),
  args: [...chromiumWebGPUFlags],
  protocolTimeout: 600_000,
});
try {
  // ---- the demo page (it quantizes in the tab with ?auto=1); the Node reference runs meanwhile
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 1500 });
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  const pageStarted = Date.now();
  await page.goto(`${server.url}?auto=1&quantize=${quantizeDevice}`, { waitUntil: 'load' });

  // Node: greedy from the bundled model on the CPU runtime; the Node quantizer with the in-tab settings.
  const nodeStarted = Date.now();
  const bundledDir = join(dist, settings.bundled.dir);
  const bundled = await vptq.loadCpu(vptqNode.nodeModelFiles(bundledDir));
  const nodeGreedy = vptq.generate(bundled.model, bundled.tokenizer, { prompt: settings.prompt, maxTokens: settings.maxTokens, temperature: 0 });
  const evalText = readFileSync(join(dist, settings.evalText.file), 'utf8');
  const quantizedDir = join(scratch, 'stories260K-intab-node');
  const nodeQuantized = await vptqNode.quantize({
    model: join(dist, settings.source.dir),
    calibration: join(dist, settings.calibrationText.file),
    out: quantizedDir,
    ...settings.inTab.settings,
    device: 'cpu',
  });
  const source = vptqNode.load(join(dist, settings.source.dir));
  const nodeBefore = vptq.perplexity(source.model, source.tokenizer, evalText);
  const quantized = vptqNode.load(quantizedDir);
  const nodeAfter = vptq.perplexity(quantized.model, quantized.tokenizer, evalText);
  log(`Node reference (greedy, quantize on the CPU, two perplexities) in ${seconds(Date.now() - nodeStarted)}`);

  const state = await page
    .waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', { timeout: 420_000, polling: 500 })
    .then(() => page.evaluate(() => document.body.dataset.state))
    .catch((error) => `timeout (${error.message})`);
  const demo = await page.evaluate(() => window.vptqDemo);
  await page.screenshot({ path: join(outDir, 'demo.png'), fullPage: true });
  log(`page ${state} in ${seconds(Date.now() - pageStarted)}; screenshot out/browser/demo.png`);
  if (state !== 'done') {
    log(`page error: ${demo?.error ?? state}`);
    for (const line of consoleLines.slice(-20)) log(`  console ${line}`);
  }

  // 1. greedy
  log(`page device: ${JSON.stringify(demo?.gpu)}`);
  const pageGreedy = demo?.bundled;
  check(
    `greedy ${settings.maxTokens} tokens in the page (${pageGreedy?.backend ?? 'none'}) equal the Node CPU runtime's`,
    pageGreedy?.text === nodeGreedy.text && pageGreedy?.tokens === nodeGreedy.tokens.length,
    pageGreedy ? `${pageGreedy.tokens} tokens, ${pageGreedy.tokensPerSecond.toFixed(1)} tokens/s in the page; ${JSON.stringify(nodeGreedy.text.slice(0, 80))}…` : 'no result',
  );
  if (pageGreedy && pageGreedy.text !== nodeGreedy.text) log(`  page: ${JSON.stringify(pageGreedy.text)}\n  node: ${JSON.stringify(nodeGreedy.text)}`);

  // 2. in-tab quantization
  const before = demo?.perplexityBefore?.perplexity;
  const after = demo?.perplexityAfter?.perplexity;
  const ratio = after / nodeAfter.perplexity;
  check(
    'in-tab quantization finished',
    state === 'done' && typeof after === 'number' && demo?.quantized !== undefined,
    demo?.quantized ? `${demo.quantized.deviceDescription} (${demo.quantizeBackend?.reason}), ${demo.quantized.seconds.toFixed(1)} s, ${demo.quantized.indexBitsPerWeight.toFixed(3)} index bits/weight` : 'no result',
  );
  check(
    'fp32 perplexity in the page equals Node\'s',
    typeof before === 'number' && Math.abs(before / nodeBefore.perplexity - 1) < 1e-6,
    `page ${before?.toFixed(4)}, Node ${nodeBefore.perplexity.toFixed(4)}`,
  );
  check(
    'quantized perplexity in the page within 1% of the Node quantizer\'s',
    Number.isFinite(ratio) && Math.abs(ratio - 1) <= 0.01,
    `page ${after?.toFixed(4)} (${demo?.quantized?.deviceDescription}), Node ${nodeAfter.perplexity.toFixed(4)} (${nodeQuantized.deviceDescription}), ratio ${ratio.toFixed(5)}`,
  );
  check(
    'the freshly quantized model generated in the page',
    typeof demo?.fresh?.text === 'string' && demo.fresh.tokens > 0,
    demo?.fresh ? `${demo.fresh.backend}, ${demo.fresh.tokensPerSecond.toFixed(1)} tokens/s` : 'no result',
  );

  // 3. the quantization report
  const reportFile = join(scratch, 'report.html');
  execFileSync(process.execPath, [join(root, 'packages/vptq/dist/cli.js'), 'report', bundledDir, '-o', reportFile], { stdio: ['ignore', 'ignore', 'inherit'] });
  const report = await browser.newPage();
  await report.setViewport({ width: 1100, height: 1400 });
  await report.goto(pathToFileURL(reportFile).href, { waitUntil: 'load' });
  const charts = await report
    .waitForFunction(() => document.body.dataset.charts === 'ready' || document.body.dataset.charts === 'error', { timeout: 60_000 })
    .then(() => report.evaluate(() => document.body.dataset.charts))
    .catch(() => 'timeout');
  const canvases = await report.evaluate(() => document.querySelectorAll('canvas').length);
  await report.screenshot({ path: join(outDir, 'report.png'), fullPage: true });
  check('vptq report draws its charts in Chromium', charts === 'ready' && canvases > 0, `data-charts=${charts}, ${canvases} canvases; screenshot out/browser/report.png`);
} finally {
  await browser.close();
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
}

const passed = results.filter((result) => result.ok).length;
log(`done in ${seconds(Date.now() - started)}`);
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
