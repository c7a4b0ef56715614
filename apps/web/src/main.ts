// The demo page. Section 1 loads the bundled 2-bit model over HTTP (loadGpu from a URL, as vptq's README shows)
// and generates greedily on WebGPU, token by token, or on the CPU runtime (loadCpu) when navigator.gpu is missing
// or the adapter cannot run the model. Section 2 quantizes stories260K in a worker (quantize-worker.ts) and runs
// the result. Everything the page measures is also in `window.vptqDemo`, which the browser test reads; the
// body's `data-state` is `done` (or `error`) when the page has finished.
import { acquireDevice } from '@vptq/kernels-webgpu';
import type { DeviceInfo } from '@vptq/kernels-webgpu';
import { createModelFiles, generate, loadCpu, loadGpu } from 'vptq';
import type { ModelLocation } from 'vptq';

import { describeSettings } from './demo-settings';
import type { DemoSettings, WorkerMessage, WorkerRequest } from './demo-settings';

interface RunResult {
  readonly backend: string;
  readonly text: string;
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly seconds: number;
}

const demo: Record<string, unknown> = {};
(window as unknown as { vptqDemo: typeof demo }).vptqDemo = demo;
const params = new URLSearchParams(location.search);
const $ = (id: string) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element;
};

let gpu: { device: GPUDevice; info: DeviceInfo } | undefined;
let gpuReason = '';

async function main(): Promise<void> {
  const settings = (await (await fetch('demo-settings.json')).json()) as DemoSettings;
  demo.settings = settings;
  $('prompt').textContent = JSON.stringify(settings.prompt);
  $('max-tokens').textContent = String(settings.maxTokens);
  $('bundled-about').textContent = `${settings.bundled.dir}: ${settings.bundled.about}. Settings: ${describeSettings(settings.bundled.settings)}.`;
  $('intab-about').textContent =
    `Quantizes ${settings.source.dir} (${settings.source.about}) in a Web Worker with ${describeSettings(settings.inTab.settings)} ` +
    `(${settings.inTab.about}), calibrated on ${settings.calibrationText.file} (the first ${settings.calibrationText.bytes} bytes of ${settings.calibrationText.from}, cut at a line).`;
  $('eval-about').textContent =
    `Perplexity per token on ${settings.evalText.file}: the first ${settings.evalText.stories} stories of ${settings.evalText.from} ` +
    '(one BOS per story), on the CPU runtime, as `vptq eval` computes it in Node.';

  await openGpu();
  $('backend').textContent = gpu ? `WebGPU: ${describeAdapter(gpu.info)}` : `CPU runtime (${gpuReason})`;
  demo.gpu = gpu ? { adapter: describeAdapter(gpu.info), missingFeatures: gpu.info.missingFeatures, isFallbackAdapter: gpu.info.adapterInfo.isFallbackAdapter } : { reason: gpuReason };

  const report = (await (await fetch(`${settings.bundled.dir}/quantization-report.json`)).json()) as { indexBitsPerWeight: number; totalBitsPerWeight: number };
  $('bits').textContent = `${report.indexBitsPerWeight.toFixed(3)} index bits per weight; ${report.totalBitsPerWeight.toFixed(3)} counting codebooks, norms and padding (quantized linears)`;
  demo.bundledBits = report;

  const bundledUrl = new URL(`${settings.bundled.dir}/`, location.href).href;
  const generateBundled = async () => {
    const result = await run(bundledUrl, settings, $('generated'));
    demo.bundled = result;
    $('speed').textContent = `${result.tokensPerSecond.toFixed(1)} tokens/s (${result.tokens} tokens in ${result.seconds.toFixed(2)} s, ${result.backend})`;
  };
  await generateBundled();
  const again = $('generate-again') as HTMLButtonElement;
  again.disabled = false;
  again.onclick = () => {
    again.disabled = true;
    generateBundled().catch(fail).finally(() => (again.disabled = false));
  };

  const quantizeButton = $('quantize') as HTMLButtonElement;
  quantizeButton.disabled = false;
  const quantize = async () => {
    quantizeButton.disabled = true;
    await quantizeInTab(settings);
  };
  quantizeButton.onclick = () => {
    quantize().catch(fail);
  };
  if (params.get('auto') === '1') await quantize();
  document.body.dataset.state = 'done';
}

/** A WebGPU device with the kernels' limits and features, unless `?gpu=0` or navigator.gpu is missing. */
async function openGpu(): Promise<void> {
  if (params.get('gpu') === '0') {
    gpuReason = 'WebGPU turned off by ?gpu=0';
    return;
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    gpuReason = 'navigator.gpu is missing';
    return;
  }
  try {
    gpu = await acquireDevice(navigator.gpu);
  } catch (error) {
    gpuReason = `no WebGPU device: ${(error as Error).message}`;
  }
}

/**
 * Loads `location` and generates greedily, showing each token as it comes: on WebGPU when there is a device
 * (falling back to the CPU, with the reason, when the model cannot be loaded or run there), else on the CPU.
 */
async function run(location: ModelLocation, settings: DemoSettings, out: HTMLElement): Promise<RunResult> {
  out.textContent = settings.prompt;
  const times: number[] = [];
  const onToken = (_token: number, piece: string) => {
    times.push(performance.now());
    out.textContent += piece;
  };
  const options = { prompt: settings.prompt, maxTokens: settings.maxTokens, temperature: 0, onToken };
  const started = performance.now();
  let backend: string;
  let text: string;
  let tokens: number;
  const onCpu = async (why: string) => {
    out.textContent = settings.prompt;
    times.length = 0;
    const cpu = await loadCpu(location);
    const result = generate(cpu.model, cpu.tokenizer, options);
    return { backend: `CPU runtime (${why})`, text: result.text, tokens: result.tokens.length };
  };
  if (gpu) {
    try {
      const loaded = await loadGpu(location, { device: gpu.device });
      try {
        const result = await generate(loaded.model, loaded.tokenizer, options);
        ({ text } = result);
        tokens = result.tokens.length;
        backend = `WebGPU, ${loaded.format} model`;
      } finally {
        loaded.release();
      }
    } catch (error) {
      ({ backend, text, tokens } = await onCpu(`the WebGPU run failed: ${(error as Error).message.split('\n')[0]}`));
    }
  } else {
    ({ backend, text, tokens } = await onCpu(gpuReason));
  }
  const seconds = (performance.now() - started) / 1000;
  // Decode speed: tokens after the first (which waits for the prompt's prefill) over the time they took.
  const decodeSeconds = times.length > 1 ? (times[times.length - 1] - times[0]) / 1000 : seconds;
  const tokensPerSecond = times.length > 1 ? (times.length - 1) / decodeSeconds : tokens / seconds;
  return { backend, text, tokens, tokensPerSecond, seconds };
}

async function quantizeInTab(settings: DemoSettings): Promise<void> {
  const started = performance.now();
  const layers = $('layers');
  layers.textContent = '';
  const bars: { bar: HTMLProgressElement; label: HTMLElement }[] = [];
  const linearsPerLayer = new Map<number, Set<string>>();
  const worker = new Worker(new URL('./quantize-worker.js', import.meta.url), { type: 'module' });
  const device = (params.get('quantize') ?? 'auto') as WorkerRequest['device'];
  const done = new Promise<Extract<WorkerMessage, { type: 'done' }>>((resolve, reject) => {
    worker.onerror = (event) => reject(new Error(`quantize worker: ${event.message}`));
    worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
      switch (data.type) {
        case 'backend':
          $('quantize-backend').textContent = `${data.description} — ${data.reason}`;
          demo.quantizeBackend = data;
          break;
        case 'perplexity':
          $(`ppl-${data.which}`).textContent = `${data.perplexity.toFixed(4)} (${data.tokens} tokens, ${data.stories} stories)`;
          demo[`perplexity${data.which === 'before' ? 'Before' : 'After'}`] = data;
          break;
        case 'event':
          onEvent(data.event);
          break;
        case 'done':
          resolve(data);
          break;
        case 'error':
          reject(new Error(`quantize worker: ${data.message}`));
          break;
      }
    };
  });
  const onEvent = (event: import('vptq').QuantizeEvent) => {
    if (event.type === 'layer') {
      while (bars.length < event.layers) {
        const row = document.createElement('div');
        row.className = 'layer';
        const name = document.createElement('span');
        name.textContent = `layer ${bars.length}`;
        const bar = document.createElement('progress');
        bar.max = 1;
        bar.value = 0;
        const label = document.createElement('span');
        label.className = 'note';
        label.textContent = 'waiting';
        row.append(name, bar, label);
        layers.append(row);
        bars.push({ bar, label });
      }
    } else if (event.type === 'phase') {
      const entry = bars[event.layer];
      if (!entry) return;
      entry.label.textContent = event.phase;
      if (event.phase === 'checkpoint' || event.phase === 'advance') {
        entry.bar.value = 1;
        entry.label.textContent = 'done';
      }
    } else if (event.type === 'linear') {
      const entry = bars[event.layer];
      if (!entry) return;
      const seen = linearsPerLayer.get(event.layer) ?? new Set<string>();
      seen.add(event.name);
      linearsPerLayer.set(event.layer, seen);
      // 10% for the calibration pass, then the seven projections of a Llama layer in turn.
      entry.bar.value = 0.1 + (0.9 * (seen.size - 1 + event.fraction)) / 7;
      entry.label.textContent = `${event.name.split('.').slice(-1)[0]} ${event.phase}`;
    }
  };
  worker.postMessage({ settings, device } satisfies WorkerRequest);
  const result = await done;
  worker.terminate();
  for (const entry of bars) {
    entry.bar.value = 1;
    entry.label.textContent = 'done';
  }
  const wall = (performance.now() - started) / 1000;
  $('quantize-time').textContent = `quantized in ${result.seconds.toFixed(1)} s (${result.calibrationTokens} calibration tokens); ${wall.toFixed(1)} s with both perplexities`;
  $('intab-bits').textContent = `${result.indexBitsPerWeight.toFixed(3)} index, ${result.totalBitsPerWeight.toFixed(3)} total`;
  demo.quantized = { device: result.device, deviceDescription: result.deviceDescription, seconds: result.seconds, wallSeconds: wall, indexBitsPerWeight: result.indexBitsPerWeight, totalBitsPerWeight: result.totalBitsPerWeight };

  const fresh = await run(createModelFiles(new Map(result.files)), settings, $('fresh-generated'));
  $('fresh-backend').textContent = `${fresh.backend}, ${fresh.tokensPerSecond.toFixed(1)} tokens/s`;
  demo.fresh = fresh;
}

function describeAdapter(info: DeviceInfo): string {
  const adapter = info.adapterInfo;
  const name = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(' ') || 'unnamed adapter';
  const missing = info.missingFeatures.length ? `; lacks ${info.missingFeatures.join(', ')}, kernels use their fallbacks` : '';
  return `${name}${adapter.isFallbackAdapter ? ' (a software adapter)' : ''}${missing}`;
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  $('error').textContent = message;
  demo.error = message;
  document.body.dataset.state = 'error';
  console.error(error);
}

main().catch(fail);
