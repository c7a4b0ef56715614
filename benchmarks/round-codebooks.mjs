// Issue 10, the quality side of 8-byte codebook entries: copies a VPTQ output directory with every codebook
// (`*.centroids.weight`, `*.res_centroids.weight`, `*.outlier_centroids.weight`) rounded to signed 8-bit integers
// times a scale, and stored back as f16, so that `vptq eval` gives the perplexity a model with int8 codebooks would
// have. Post hoc: the column loop's error feedback never saw the rounding, so this bounds the loss from above.
//
//   node benchmarks/round-codebooks.mjs IN_DIR OUT_DIR [codebook|element]
//
// `codebook` (default): one scale per codebook (per group), max |c| / 127. `element`: one scale per element position
// of the v-long entries (v scales per codebook), which keeps an 8-element entry in 8 bytes as well.
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [input, output, mode = 'codebook'] = process.argv.slice(2);
if (!input || !output || (mode !== 'codebook' && mode !== 'element')) {
  console.error('usage: node benchmarks/round-codebooks.mjs IN_DIR OUT_DIR [codebook|element]');
  process.exit(2);
}
const config = JSON.parse(readFileSync(join(input, 'config.json'), 'utf8'));
cpSync(input, output, { recursive: true });

const halfToFloat = (h) => {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
};
const floatToHalf = (() => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  return (value) => {
    // Round to nearest even through the f32 bits (values here are finite and far from the f16 range limits).
    f32[0] = value;
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exponent = ((x >>> 23) & 0xff) - 127 + 15;
    let mantissa = x & 0x7fffff;
    if (exponent <= 0) {
      if (exponent < -10) return sign;
      mantissa |= 0x800000;
      const shift = 14 - exponent;
      const half = mantissa >> shift;
      const rest = mantissa & ((1 << shift) - 1);
      const midpoint = 1 << (shift - 1);
      return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
    }
    const half = (exponent << 10) | (mantissa >> 13);
    const rest = mantissa & 0x1fff;
    return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
  };
})();

// The vector length of each codebook, from the config's per-layer VPTQ settings (entries are v elements long).
const layerConfigs = config.quantization_config?.config_for_layers ?? {};
const vectorLengthOf = (tensor) => {
  const prefix = tensor.replace(/\.(centroids|res_centroids|outlier_centroids)\.weight$/, '');
  const layer = layerConfigs[prefix];
  if (!layer) throw new Error(`no config_for_layers entry for ${prefix}`);
  const [outlierLength, vectorLength] = layer.vector_lens;
  return tensor.endsWith('.outlier_centroids.weight') ? outlierLength : vectorLength;
};

let codebooks = 0;
let worst = 0;
for (const file of readdirSync(output).filter((name) => name.endsWith('.safetensors'))) {
  const path = join(output, file);
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const base = 8 + headerLength;
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__' || !/\.(centroids|res_centroids|outlier_centroids)\.weight$/.test(name)) continue;
    if (entry.dtype !== 'F16') throw new Error(`${name}: expected F16 codebooks (got ${entry.dtype})`);
    const [begin, end] = entry.data_offsets;
    const view = new Uint16Array(bytes.buffer, bytes.byteOffset + base + begin, (end - begin) / 2);
    const groups = entry.shape[0];
    const perGroup = view.length / groups;
    const v = vectorLengthOf(name);
    const scales = mode === 'codebook' ? 1 : v;
    for (let g = 0; g < groups; g++) {
      const values = Array.from(view.subarray(g * perGroup, (g + 1) * perGroup), halfToFloat);
      const scale = new Array(scales).fill(0);
      values.forEach((value, i) => (scale[i % scales] = Math.max(scale[i % scales], Math.abs(value) / 127)));
      values.forEach((value, i) => {
        const s = scale[i % scales];
        const rounded = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(value / s))) * s;
        worst = Math.max(worst, Math.abs(rounded - value));
        view[g * perGroup + i] = floatToHalf(rounded);
      });
      codebooks++;
    }
  }
  writeFileSync(path, bytes);
}
console.log(`${output}: ${codebooks} codebooks rounded to int8 (${mode} scales); largest change ${worst.toExponential(3)}`);
