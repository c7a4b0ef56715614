import { readFileSync } from 'node:fs';

import { quantizeVptqLayer } from '@vptq/codebook';
import { prepareHessian, prepareHessianAsync } from '@vptq/hessian';
import type { FinalizedHessian } from '@vptq/hessian';
import { upperCholeskyOfInverseGpu } from '@vptq/kernels-webgpu/quantize';
import { listLinearSpecs } from '@vptq/loader';
import { loadLlama2cTokenizer, openModel } from '@vptq/loader/node';
import { fixturePath, releaseTestDevice, requestTestDevice } from '@vptq/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

import { embedCalibration, encodeCalibration } from './calibration-tokens';
import { createCpuCalibrationStream } from './cpu-calibration-stream';
import type { LayerHessians } from './calibration-stream';

const device = await requestTestDevice();

// The Hessian preparation with its factorization on the GPU (f32), against the CPU's f64, on the Hessians of a real
// model: stories260K's layer 0 (inputs 64 and 172 wide), calibrated on 2048 tokens of TinyStories.
describe.skipIf(!device)('prepareHessianAsync with upperCholeskyOfInverseGpu on stories260K', () => {
  const gpu = device as GPUDevice;
  afterAll(releaseTestDevice);

  it('gives the CPU preparation with a factor within f32 tolerance, and the same quantized layers', async () => {
    const source = openModel(fixturePath('karpathy-tinyllamas-stories260K', 'stories260K.bin'));
    const tokenizer = loadLlama2cTokenizer(fixturePath('karpathy-tinyllamas-stories260K', 'tok512.bin'));
    const text = readFileSync(fixturePath('tinystories-train-head', 'tinystories.txt'), 'utf8');
    const embeddings = embedCalibration(source, encodeCalibration(tokenizer, text, 2048));
    const stream = createCpuCalibrationStream(source.config, embeddings, source.config.maxPositionEmbeddings);
    const hessians = (await stream.forwardLayer(0, source, { collect: true, advance: false })) as LayerHessians;
    const factorize = (matrix: { data: Float64Array; size: number }) => upperCholeskyOfInverseGpu(gpu, matrix);
    const options = { vectorLength: 4, numCentroids: 64, numResidualCentroids: 0, kmeansIterations: 20, refineIterations: 2, seed: 1 };
    const layer0 = listLinearSpecs(source.config).filter((spec) => spec.layer === 0 && ['q_proj', 'o_proj', 'up_proj', 'down_proj'].some((name) => spec.prefix.endsWith(name)));
    expect(new Set(layer0.map((spec) => spec.input)).size).toBe(4);
    for (const spec of layer0) {
      // The CPU stream collects host Hessians.
      const hessian = hessians[spec.input] as FinalizedHessian;
      const size = hessian.size;
      const onCpu = prepareHessian(hessian);
      const onGpu = await prepareHessianAsync(hessian, { factorize });
      expect({ ...onGpu, inverseCholesky: undefined }).toEqual({ ...onCpu, inverseCholesky: undefined });
      // The two dampings bound the condition number of the factored matrix: its mean diagonal is 1 + damp, so
      // λmax ≤ trace ≤ (1 + damp)(1 + inverseDamp)·n and λmin ≥ damp + inverseDamp·(1 + damp). The f32 factor's
      // relative error is then at most about (κ₂ + 4√n)·2⁻²⁴ (see kernels-webgpu's inverse-cholesky tests).
      const condition = (1.01 * 1.01 * size) / (0.01 + 0.01 * 1.01);
      let difference = 0;
      let norm = 0;
      for (let i = 0; i < size * size; i++) {
        difference += (onGpu.inverseCholesky[i] - onCpu.inverseCholesky[i]) ** 2;
        norm += onCpu.inverseCholesky[i] ** 2;
      }
      expect(Math.sqrt(difference / norm)).toBeLessThan((condition + 4 * Math.sqrt(size)) * 2 ** -24);

      // The column loop takes an argmin per vector: a factor that differs by rounding may flip a genuine
      // near-tie, after which the error feedback takes another path. A few flips are possible; a wrong factor
      // changes most indices and the proxy error by far more than 1%.
      const weight = { data: source.readTensor(`${spec.prefix}.weight`), rows: spec.outFeatures, cols: spec.inFeatures };
      const expected = quantizeVptqLayer(weight, onCpu, options);
      const actual = quantizeVptqLayer(weight, onGpu, options);
      let same = 0;
      let count = 0;
      expected.indices.forEach((indices, group) => {
        for (let i = 0; i < indices.length; i++, count++) if (indices[i] === actual.indices[group][i]) same++;
      });
      expect(same / count).toBeGreaterThan(0.99);
      expect(Math.abs(actual.proxyError.after / expected.proxyError.after - 1)).toBeLessThan(0.01);
    }
    source.close();
  });
});
