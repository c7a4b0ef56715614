import { assertFinite, closeFile, openFileSteps, readF32, readRangeSteps } from './file-range';
import type { LoaderFile } from './file-range';
import { LoaderError } from './loader-error';
import type { Steps } from './loader-steps';
import type { ModelFiles } from './model-files';
import type { LlamaConfig, ModelSource, TensorInfo } from './model-types';
import { prefetchRanges } from './prefetch-ranges';

const fn = 'openLlama2c';
const headerFields = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
const headerByteLength = headerFields.length * 4;

// Far above any llama2.c-format model yet far below sizes whose products could lose integer precision,
// so that a flipped header bit is reported as a bad field instead of an absurd allocation.
const upperLimits: Record<(typeof headerFields)[number], number> = {
  dim: 1 << 16,
  hidden_dim: 1 << 20,
  n_layers: 1 << 10,
  n_heads: 1 << 12,
  n_kv_heads: 1 << 12,
  vocab_size: 1 << 24,
  seq_len: 1 << 24,
};

interface TensorSlot {
  readonly info: TensorInfo;
  readonly byteOffset: number;
  readonly count: number;
}

/**
 * Opens a llama2.c "legacy v0" checkpoint (`.bin`: 7 × int32 header, then f32 tensors) for lazy reading: the
 * file `files.entry`. Only the header is read here; each {@link ModelSource.readTensor} call reads one tensor at
 * its offset, so memory stays bounded by the largest tensor. See `openLlama2c` of `@vptq/loader/node` for the
 * tensor names and shapes.
 *
 * @throws {LoaderError} VPTQ_LOADER_NOT_FOUND, VPTQ_LOADER_TRUNCATED, VPTQ_LOADER_SIZE_MISMATCH or
 * VPTQ_LOADER_BAD_HEADER naming the file and the header field.
 */
export function* openLlama2cSteps(files: ModelFiles): Steps<ModelSource> {
  const name = files.entry;
  if (name === undefined) {
    throw new LoaderError('VPTQ_LOADER_UNKNOWN_FORMAT', `${fn}: ${files.path} is a directory, not a llama2.c .bin file`, { path: files.path });
  }
  const file = yield* openFileSteps(fn, files, name);
  if (file === undefined) {
    const path = files.pathOf(name);
    throw new LoaderError('VPTQ_LOADER_NOT_FOUND', `${fn}: cannot open ${path} (it does not exist)`, { path });
  }
  try {
    const header = yield* readRangeSteps(fn, file, 0, Math.min(headerByteLength, file.byteLength), { field: 'header' });
    const { config, sharedClassifier } = readHeader(file, header);
    const slots = layoutTensors(file, config, sharedClassifier);
    return createSource(file, config, slots);
  } catch (error) {
    closeFile(file);
    throw error;
  }
}

function readHeader(file: LoaderFile, bytes: Uint8Array): { config: LlamaConfig; sharedClassifier: boolean } {
  if (bytes.byteLength < headerByteLength) {
    throw new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${file.path} is truncated: field header needs bytes 0..${headerByteLength} but the file has ${file.byteLength}`,
      { path: file.path, field: 'header', byteOffset: 0 },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerByteLength);
  const values = {} as Record<(typeof headerFields)[number], number>;
  headerFields.forEach((name, index) => {
    values[name] = view.getInt32(index * 4, true);
  });

  const sharedClassifier = values.vocab_size > 0;
  const vocabSize = Math.abs(values.vocab_size);
  for (const name of headerFields) {
    const value = name === 'vocab_size' ? vocabSize : values[name];
    if (value < 1 || value > upperLimits[name]) {
      throw badHeader(file, name, `${name} must be between 1 and ${upperLimits[name]} (got ${values[name]})`);
    }
  }
  const { dim, n_heads: heads, n_kv_heads: kvHeads } = values;
  if (dim % heads !== 0) throw badHeader(file, 'n_heads', `n_heads must divide dim (got n_heads = ${heads}, dim = ${dim})`);
  if (kvHeads > heads || heads % kvHeads !== 0) {
    throw badHeader(file, 'n_kv_heads', `n_kv_heads must divide n_heads (got n_kv_heads = ${kvHeads}, n_heads = ${heads})`);
  }
  const headDim = dim / heads;
  if (headDim % 2 !== 0) {
    throw badHeader(file, 'n_heads', `dim / n_heads must be even for RoPE pairs (got head size ${headDim})`);
  }
  const config: LlamaConfig = {
    modelType: 'llama',
    hiddenSize: dim,
    intermediateSize: values.hidden_dim,
    numHiddenLayers: values.n_layers,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    vocabSize,
    maxPositionEmbeddings: values.seq_len,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    ropeLayout: 'interleaved',
    tieWordEmbeddings: sharedClassifier,
    attentionBias: false,
    bosTokenId: 1,
    eosTokenId: 2,
  };
  return { config, sharedClassifier };
}

function badHeader(file: LoaderFile, field: string, rule: string): LoaderError {
  return new LoaderError('VPTQ_LOADER_BAD_HEADER', `${fn}: ${file.path}: header field ${rule}`, {
    path: file.path,
    field,
    byteOffset: headerFields.indexOf(field as (typeof headerFields)[number]) * 4,
  });
}

function layoutTensors(file: LoaderFile, config: LlamaConfig, sharedClassifier: boolean): TensorSlot[] {
  const { hiddenSize: dim, intermediateSize: hidden, numHiddenLayers: layers, vocabSize: vocab } = config;
  const kvDim = config.numKeyValueHeads * config.headDim;
  const stacked: Array<readonly [string, readonly number[]]> = [
    ['input_layernorm', [dim]],
    ['self_attn.q_proj', [dim, dim]],
    ['self_attn.k_proj', [kvDim, dim]],
    ['self_attn.v_proj', [kvDim, dim]],
    ['self_attn.o_proj', [dim, dim]],
    ['post_attention_layernorm', [dim]],
    ['mlp.gate_proj', [hidden, dim]],
    ['mlp.down_proj', [dim, hidden]],
    ['mlp.up_proj', [hidden, dim]],
  ];

  const slots: TensorSlot[] = [];
  let byteOffset = headerByteLength;
  const push = (name: string, shape: readonly number[]): void => {
    const count = shape.reduce((product, size) => product * size, 1);
    slots.push({ info: { name, dtype: 'F32', shape }, byteOffset, count });
    byteOffset += count * 4;
  };
  push('model.embed_tokens.weight', [vocab, dim]);
  for (const [suffix, shape] of stacked) {
    for (let layer = 0; layer < layers; layer++) push(`model.layers.${layer}.${suffix}.weight`, shape);
  }
  push('model.norm.weight', [dim]);
  // The obsolete freq_cis_real and freq_cis_imag tables, [seq_len, head_dim / 2] each, are skipped.
  byteOffset += 2 * config.maxPositionEmbeddings * (config.headDim / 2) * 4;
  if (!sharedClassifier) push('lm_head.weight', [vocab, dim]);

  if (file.byteLength < byteOffset) {
    const missing = slots.find((slot) => slot.byteOffset + slot.count * 4 > file.byteLength);
    const what = missing ? `tensor ${missing.info.name}` : 'the freq_cis tables';
    throw new LoaderError(
      'VPTQ_LOADER_TRUNCATED',
      `${fn}: ${file.path} is truncated: the header promises ${byteOffset} bytes but the file has ${file.byteLength} (${what} is cut off)`,
      { path: file.path, tensor: missing?.info.name, byteOffset: missing?.byteOffset },
    );
  }
  if (file.byteLength > byteOffset) {
    throw new LoaderError(
      'VPTQ_LOADER_SIZE_MISMATCH',
      `${fn}: ${file.path} has ${file.byteLength} bytes but its header accounts for ${byteOffset}; ` +
        'the header does not describe this file (wrong format version, or transposed/extra data)',
      { path: file.path, field: 'header', byteOffset },
    );
  }
  return slots;
}

function createSource(file: LoaderFile, config: LlamaConfig, slots: readonly TensorSlot[]): ModelSource {
  const byName = new Map(slots.map((slot) => [slot.info.name, slot]));
  let open = true;
  const slotOf = (reader: string, name: string): TensorSlot => {
    const slot = byName.get(name);
    if (!slot) {
      throw new LoaderError('VPTQ_LOADER_UNKNOWN_TENSOR', `${reader}: ${file.path} has no tensor ${name}`, {
        path: file.path,
        tensor: name,
      });
    }
    if (!open) {
      throw new LoaderError('VPTQ_LOADER_CLOSED', `${reader}: ${file.path} was closed before reading ${name}`, {
        path: file.path,
        tensor: name,
      });
    }
    return slot;
  };
  return {
    path: file.path,
    format: 'llama2c',
    config,
    tensors: slots.map((slot) => slot.info),
    readTensor(name: string): Float32Array {
      const slot = slotOf('readTensor', name);
      const values = readF32('readTensor', file, slot.byteOffset, slot.count, { tensor: name });
      assertFinite('readTensor', file.path, name, values);
      return values;
    },
    async prefetch(names: readonly string[]): Promise<void> {
      const ranges = [...names].map((name) => {
        const slot = slotOf('prefetch', name);
        return { file, byteOffset: slot.byteOffset, byteLength: slot.count * 4 };
      });
      await prefetchRanges('prefetch', [file], ranges);
    },
    close(): void {
      if (!open) return;
      open = false;
      closeFile(file);
    },
  };
}
