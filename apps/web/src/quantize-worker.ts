/// <reference lib="webworker" />
// The in-tab quantizer: a dedicated worker, so the page stays responsive. Measures the fp32 perplexity of the
// source model, quantizes it with quantizeInMemory (WebGPU when the worker gets an adapter and the page asks for
// it, else the CPU reference backend), measures the quantized model's perplexity, and sends the packed files back.
// Perplexity runs on the CPU runtime here, as `vptq eval` does in Node, so the figures compare one to one.
import { acquireDevice } from '@vptq/kernels-webgpu';
import type { DeviceInfo } from '@vptq/kernels-webgpu';
import { loadCpu, perplexity, quantizeInMemory } from 'vptq';
import type { ModelFiles, QuantizeInMemoryResult } from 'vptq';

import type { WorkerMessage, WorkerRequest } from './demo-settings';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);

scope.onmessage = (event: MessageEvent<WorkerRequest>) => {
  run(event.data).catch((error: unknown) => post({ type: 'error', message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) }));
};

async function run({ settings, device: wanted }: WorkerRequest): Promise<void> {
  const base = new URL('./', scope.location.href);
  const sourceUrl = new URL(`${settings.source.dir}/`, base).href;
  const text = async (file: string) => {
    const response = await fetch(new URL(file, base));
    if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
    return response.text();
  };
  const [calibration, evalText] = await Promise.all([text(settings.calibrationText.file), text(settings.evalText.file)]);

  let gpu: { device: GPUDevice; info: DeviceInfo } | undefined;
  let reason = 'the page asked for the CPU';
  if (wanted !== 'cpu') {
    if (!('gpu' in navigator) || !navigator.gpu) reason = 'navigator.gpu is missing in this worker';
    else {
      try {
        gpu = await acquireDevice(navigator.gpu);
        reason = gpu.info.missingFeatures.length ? `adapter lacks ${gpu.info.missingFeatures.join(', ')} (kernels use their fallbacks)` : 'WebGPU adapter';
        // As `vptq quantize --device auto`: a software adapter (SwiftShader) is far slower than the CPU backend
        // (stories260K: 390 s against about 10 s, measured in headless Chromium), so only ?quantize=gpu takes it.
        if (wanted === 'auto' && gpu.info.adapterInfo.isFallbackAdapter) {
          reason = `the only WebGPU adapter is a software one (${describeAdapter(gpu.info)}), much slower than the CPU here; ?quantize=gpu uses it anyway`;
          gpu.device.destroy();
          gpu = undefined;
        }
      } catch (error) {
        reason = `no WebGPU device: ${(error as Error).message}`;
      }
    }
    if (wanted === 'gpu' && !gpu) throw new Error(`quantize=gpu was asked for, but ${reason}`);
  }

  const before = await loadCpu(sourceUrl);
  const fp32 = perplexity(before.model, before.tokenizer, evalText);
  post({ type: 'perplexity', which: 'before', perplexity: fp32.perplexity, tokens: fp32.tokens, stories: fp32.stories });

  const quantizeOn = async (device: 'cpu' | 'gpu'): Promise<QuantizeInMemoryResult> => {
    const backendName = device === 'gpu' ? `WebGPU (${describeAdapter(gpu?.info)})` : 'CPU (reference backend)';
    post({ type: 'backend', description: backendName, reason });
    return quantizeInMemory({
      model: sourceUrl,
      calibration,
      ...settings.inTab.settings,
      device,
      gpuDevice: device === 'gpu' ? gpu?.device : undefined,
      gpuDeviceInfo: device === 'gpu' ? gpu?.info : undefined,
      onEvent: (event) => post({ type: 'event', event }),
    });
  };
  let result: QuantizeInMemoryResult;
  if (gpu) {
    try {
      result = await quantizeOn('gpu');
    } catch (error) {
      // An adapter that cannot run a quantizer kernel (a limit, a lost device): the CPU reference does the job.
      if (wanted === 'gpu') throw error;
      reason = `the WebGPU run failed (${(error as Error).message.split('\n')[0]}); quantized on the CPU instead`;
      result = await quantizeOn('cpu');
    }
  } else {
    result = await quantizeOn('cpu');
  }
  gpu?.device.destroy();

  const after = await loadCpu(result.files);
  const quantized = perplexity(after.model, after.tokenizer, evalText);
  post({ type: 'perplexity', which: 'after', perplexity: quantized.perplexity, tokens: quantized.tokens, stories: quantized.stories });

  const files = await readAll(result.files, ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'tokenizer.bin', 'generation_config.json']);
  post(
    {
      type: 'done',
      files,
      device: result.device,
      deviceDescription: result.deviceDescription,
      seconds: result.seconds,
      indexBitsPerWeight: result.indexBitsPerWeight,
      totalBitsPerWeight: result.totalBitsPerWeight,
      calibrationTokens: result.calibrationTokens,
    },
    files.map(([, bytes]) => bytes.buffer as ArrayBuffer),
  );
}

function describeAdapter(info: DeviceInfo | undefined): string {
  const adapter = info?.adapterInfo;
  if (!adapter) return 'adapter';
  const name = [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ') || 'unnamed adapter';
  return `${name}${adapter.isFallbackAdapter ? ', software' : ''}`;
}

/** The bytes of every file of `names` that `files` has (copies, so they can be transferred). */
async function readAll(files: ModelFiles, names: readonly string[]): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for (const name of names) {
    const source = await files.open(name);
    if (!source) continue;
    out.push([name, (await source.read(0, source.byteLength)).slice()]);
    source.close?.();
  }
  return out;
}
