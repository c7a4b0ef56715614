// GPU decode speed of @vptq/runtime: a LLaMA-2-7B-shaped model with synthetic weights, fp16 dense next to 2-bit
// VPTQ, both measured in this run (one submit per token, greedy argmax on the GPU).
// Usage (after `pnpm exec turbo run build --filter=@vptq/runtime...`; needs a WebGPU adapter):
//   node packages/runtime/bench/decode.mjs [--shape llama2-7b|tiny] [--tokens 128] [--quantization v8-k65536|v6-k4096]
//        [--variants fp16,vptq] [--lookahead 2] [--vq-workgroup 64] [--vq-splits N] [--json FILE]
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { acquireDevice } from '@vptq/kernels-webgpu';
import { benchmarkDecode, llama2DecodeShape, tinyDecodeShape } from '@vptq/runtime';

// Dawn's binding is a dev dependency of tools/test-utils only (library packages never import it); a bundle of
// this script for the GPU machine finds it in .device/node_modules instead.
const { create } = await import('webgpu').catch(() => {
  const fromTestUtils = createRequire(new URL('../../../tools/test-utils/package.json', import.meta.url));
  return import(pathToFileURL(fromTestUtils.resolve('webgpu')).href);
});

const { values } = parseArgs({
  allowNegative: true,
  options: {
    shape: { type: 'string', default: 'llama2-7b' },
    tokens: { type: 'string', default: '128' },
    warmup: { type: 'string', default: '8' },
    quantization: { type: 'string', default: 'v8-k65536' },
    variants: { type: 'string', default: 'fp16,vptq' },
    lookahead: { type: 'string', default: '2' },
    'vq-workgroup': { type: 'string' },
    'vq-splits': { type: 'string' },
    'vq-target-workgroups': { type: 'string' },
    breakdown: { type: 'boolean', default: true },
    json: { type: 'string' },
  },
});

// Dawn keeps a raw pointer to the instance: hold it globally until the device is destroyed (docs/webgpu-dawn.md).
globalThis.__vptqDecodeBenchGpu = create(['disable-dawn-features=timestamp_quantization']);
const { device, info } = await acquireDevice(globalThis.__vptqDecodeBenchGpu);
const shape = values.shape === 'tiny' ? tinyDecodeShape : values.shape === 'llama2-7b' ? llama2DecodeShape : JSON.parse(values.shape);
const number = (value) => (value === undefined ? undefined : Number(value));
const vqGemv = Object.fromEntries(
  [
    ['workgroupSize', number(values['vq-workgroup'])],
    ['splits', number(values['vq-splits'])],
    ['targetWorkgroups', number(values['vq-target-workgroups'])],
  ].filter(([, value]) => value !== undefined),
);
const started = performance.now();
const result = await benchmarkDecode(device, {
  shape,
  tokens: Number(values.tokens),
  warmupTokens: Number(values.warmup),
  quantization: values.quantization,
  variants: values.variants.split(','),
  lookahead: Number(values.lookahead),
  breakdown: values.breakdown,
  vqGemv,
  onProgress: (message) => console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${message}`),
});

const adapter = info.adapterInfo;
console.log(`adapter ${adapter.vendor} ${adapter.device} ${adapter.description} (subgroups ${info.features.subgroups}, timestamps ${info.features.timestampQuery}), node ${process.version}`);
console.log(`shape ${JSON.stringify(result.shape)}, vqGemv ${JSON.stringify(vqGemv)}`);
const fixed = (value, digits = 2) => (value === undefined ? '–' : value.toFixed(digits));
console.log(
  ['variant'.padEnd(30), 'tok/s', 'ms/tok', 'GiB', 'bits/w', 'disp', 'all', 'linear', 'other', 'encode', 'gpu'].map((h, i) => (i ? h.padStart(8) : h)).join(' '),
);
for (const row of result.rows) {
  const b = row.breakdown;
  console.log(
    [
      row.label.padEnd(30),
      fixed(row.tokensPerSecond, 1),
      fixed(row.msPerToken),
      fixed(row.gpuMemoryBytes / 2 ** 30),
      fixed(row.linearBitsPerWeight),
      String(row.dispatchesPerToken),
      fixed(b?.allMsPerToken),
      fixed(b?.linearMsPerToken),
      fixed(b?.otherMsPerToken),
      fixed(b?.encodeMsPerToken),
      fixed(b?.gpuMsPerToken),
    ]
      .map((cell, i) => (i ? cell.padStart(8) : cell))
      .join(' '),
  );
}
for (const row of result.rows) {
  if (!row.breakdown) continue;
  const kernels = row.breakdown.kernels.map((k) => `${k.label} ${k.dispatches}× ${k.msPerToken.toFixed(2)}`).join(', ');
  console.log(`${row.label} per kernel (dispatches, ms/token alone): ${kernels}`);
  const b = row.breakdown;
  console.log(`${row.label} CPU per token: position uniforms ${b.positionMsPerToken.toFixed(2)} ms, record ${b.recordMsPerToken.toFixed(2)} ms, finish+submit ${b.submitMsPerToken.toFixed(2)} ms`);
}
if (result.speedup !== undefined) console.log(`vptq / fp16 decode speed: ${result.speedup.toFixed(2)}×`);
if (values.json) writeFileSync(values.json, JSON.stringify({ adapter, ...result }, null, 2));
device.destroy();
delete globalThis.__vptqDecodeBenchGpu;
