#!/usr/bin/env node
// Checks that headless Chromium gives a page a working WebGPU device on this (GPU-less) machine: launches the
// browser from findChromium() with the flags of scripts/chromium-webgpu-flags.mjs through puppeteer-core, serves
// a page on 127.0.0.1 that requests an adapter and device, runs a WGSL compute shader that doubles an array,
// reads it back, tests subgroupAdd when offered, and times a 1024x1024 f32 matvec dispatched --reps times.
// Prints the page's console, one JSON result per mode, and writes a screenshot per mode.
//
//   node scripts/probe-chromium-webgpu.mjs [--mode=swiftshader|compat|all] [--reps=100] [--screenshot=out/probe]
//
// Exit status 0 only when every requested mode ran the shaders and got the right numbers. `probe()` is
// exported so the same measurement can run under Dawn in Node.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromiumWebGPUCompatFlags, chromiumWebGPUFlags, findChromium } from './chromium-webgpu-flags.mjs';

const MODES = { swiftshader: chromiumWebGPUFlags, compat: chromiumWebGPUCompatFlags };
const LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage'];

/**
 * Runs in the page (serialized with toString, so self-contained). Returns a plain object; `ok` says all passed.
 * @param {GPU} gpu @param {number} reps @param {string[]} limitNames
 */
export async function probe(gpu, reps, limitNames) {
  const r = { ok: false };
  if (!gpu) return { ...r, error: 'navigator.gpu is undefined' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ...r, error: 'requestAdapter() returned null' };
  const { vendor, architecture, device: dev, description, isFallbackAdapter, subgroupMinSize, subgroupMaxSize } = adapter.info;
  r.adapter = { vendor, architecture, device: dev, description, isFallbackAdapter, subgroupMinSize, subgroupMaxSize };
  r.core = adapter.features.has('core-features-and-limits'); // false on a compatibility-mode adapter
  r.features = [...adapter.features].sort();
  r.shaderF16 = adapter.features.has('shader-f16');
  r.subgroups = adapter.features.has('subgroups');
  r.adapterLimits = Object.fromEntries(limitNames.map((k) => [k, adapter.limits[k]]));
  const device = await adapter.requestDevice({
    requiredFeatures: ['shader-f16', 'subgroups'].filter((f) => adapter.features.has(f)),
    requiredLimits: r.adapterLimits,
  });
  let lost = null;
  device.lost.then((info) => { lost = info.message; });
  const B = GPUBufferUsage;
  const run = async (code, buffers, groups, times = 1) => {
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }) } });
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < times; i++) {
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline); pass.setBindGroup(0, bindGroup); pass.dispatchWorkgroups(groups); pass.end();
    }
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  const upload = (array) => {
    const b = device.createBuffer({ size: array.byteLength, usage: B.STORAGE | B.COPY_SRC | B.COPY_DST });
    device.queue.writeBuffer(b, 0, array);
    return b;
  };
  const download = async (buffer, Type) => {
    const staging = device.createBuffer({ size: buffer.size, usage: B.MAP_READ | B.COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Type(staging.getMappedRange().slice(0));
    staging.destroy();
    return out;
  };

  // 1. Double an array.
  const n = 1024;
  const a = upload(new Float32Array(n).map((_, i) => i));
  await run(`@group(0) @binding(0) var<storage, read_write> a: array<f32>;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
      if (g.x < arrayLength(&a)) { a[g.x] = 2.0 * a[g.x]; } }`, [a], n / 64);
  const doubled = await download(a, Float32Array);
  r.double = doubled.every((v, i) => v === 2 * i) ? 'ok' : `wrong: ${[...doubled.slice(0, 4)]}`;

  // 2. subgroupAdd over one workgroup of 64, when the feature is there.
  if (r.subgroups) {
    const o = upload(new Uint32Array(64));
    await run(`enable subgroups;
      @group(0) @binding(0) var<storage, read_write> o: array<u32>;
      @compute @workgroup_size(64) fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_size) s: u32) {
        o[i] = subgroupAdd(1u) * 1000u + s; }`, [o], 1);
    const got = await download(o, Uint32Array);
    const size = got[0] % 1000;
    r.subgroupAdd = got.every((v) => v === size * 1000 + size) ? `ok, subgroup_size ${size}` : `wrong: ${[...got.slice(0, 4)]}`;
  }

  // 3. y = A x, A 1024x1024 f32 row-major, one row per invocation; warm-up dispatch, then `reps` in one submit.
  const M = 1024, K = 1024;
  const A = new Float32Array(M * K).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const x = new Float32Array(K).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const bufs = [upload(A), upload(x), upload(new Float32Array(M))];
  const matvec = `@group(0) @binding(0) var<storage, read> A: array<f32>;
    @group(0) @binding(1) var<storage, read> x: array<f32>;
    @group(0) @binding(2) var<storage, read_write> y: array<f32>;
    @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
      let row = g.x;
      if (row >= ${M}u) { return; }
      var s = 0.0;
      for (var k = 0u; k < ${K}u; k++) { s += A[row * ${K}u + k] * x[k]; }
      y[row] = s; }`;
  await run(matvec, bufs, M / 64);
  const t0 = performance.now();
  await run(matvec, bufs, M / 64, reps);
  const ms = performance.now() - t0;
  const y = await download(bufs[2], Float32Array);
  let maxErr = 0;
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[m * K + k] * x[k];
    maxErr = Math.max(maxErr, Math.abs(s - y[m]));
  }
  r.matvec = { reps, totalMs: +ms.toFixed(1), msPerDispatch: +(ms / reps).toFixed(3),
    gflops: +((2 * M * K * reps) / ms / 1e6).toFixed(3), maxAbsErr: maxErr };
  r.deviceLost = lost;
  r.ok = !lost && r.double === 'ok' && (!r.subgroups || r.subgroupAdd.startsWith('ok')) && maxErr < 1e-3;
  device.destroy();
  return r;
}

const page = (reps) => `<!doctype html><meta charset="utf-8"><title>WebGPU probe</title>
<pre id="out" style="font: 13px monospace; white-space: pre-wrap">running…</pre>
<script type="module">
const out = document.getElementById('out');
const done = (r) => { out.textContent = JSON.stringify(r, null, 1); console.log('PROBE_RESULT ' + JSON.stringify(r)); };
(${probe.toString()})(navigator.gpu, ${reps}, ${JSON.stringify(LIMITS)})
  .then(done, (e) => done({ ok: false, error: String(e?.stack ?? e) }));
</script>`;

async function probeMode(puppeteer, url, mode, { screenshot, timeoutMs }) {
  const args = [...MODES[mode]];
  console.log(`# ${mode}: ${findChromium()} ${args.join(' ')}`);
  let browser;
  let timer;
  try {
    browser = await puppeteer.launch({ executablePath: findChromium(), headless: true, args, timeout: 60_000 });
    const tab = await browser.newPage();
    const result = new Promise((resolve) => {
      tab.on('console', (m) => {
        if (m.text().startsWith('PROBE_RESULT ')) resolve(JSON.parse(m.text().slice(13)));
        else console.log(`[${mode} console.${m.type()}] ${m.text()}`);
      });
      tab.on('pageerror', (e) => resolve({ ok: false, error: `page error: ${e.message}` }));
    });
    await tab.goto(url);
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `no result within ${timeoutMs} ms` }), timeoutMs);
    });
    const r = await Promise.race([result, timeout]);
    if (screenshot) {
      const path = `${screenshot}-${mode}.png`;
      mkdirSync(dirname(path), { recursive: true });
      await tab.screenshot({ path, fullPage: true });
      r.screenshot = path;
    }
    return { mode, version: await browser.version(), ...r };
  } catch (e) {
    return { mode, ok: false, error: String(e?.message ?? e) };
  } finally {
    clearTimeout(timer);
    await browser?.close();
  }
}

async function main() {
  const opt = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
  const modes = !opt.mode || opt.mode === 'all' ? Object.keys(MODES) : [opt.mode];
  for (const m of modes) if (!MODES[m]) throw new Error(`unknown --mode=${m} (swiftshader, compat or all)`);
  const reps = Number(opt.reps ?? 100);
  const { default: puppeteer } = await import('puppeteer-core');
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(reps));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`; // http on loopback is a secure context
  let failed = 0;
  try {
    for (const mode of modes) {
      const r = await probeMode(puppeteer, url, mode, { screenshot: opt.screenshot ?? 'out/probe-chromium-webgpu', timeoutMs: 180_000 });
      console.log(JSON.stringify(r));
      console.log(`# ${mode}: ${r.ok ? 'ok' : `FAILED: ${r.error ?? 'wrong result'}`}` +
        (r.matvec ? `, matvec ${r.matvec.msPerDispatch} ms/dispatch (${r.matvec.gflops} GFLOP/s)` : ''));
      if (!r.ok) failed++;
    }
  } finally {
    server.close();
  }
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
