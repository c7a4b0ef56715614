import { existsSync, mkdirSync, openSync, closeSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync, copyFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { createByteSource, encodeSafetensors, parseSafetensorsHeader } from '@vptq/pack-format/safetensors';

import { llamaConfigToHfJson } from './llama-config-to-hf-json';
import { buildLlama2cTokenizerJson } from './llama2c-tokenizer-json';
import { LoaderError } from './loader-error';
import type { ModelSource } from './model-types';
import { openLlama2c } from './open-llama2c';
import { readLlama2cVocab } from './read-llama2c-vocab';

const fn = 'convertLlama2cToHf';

/** Options of {@link convertLlama2cToHf}. */
export interface ConvertLlama2cToHfOptions {
  /** Replace `outDir` when it exists and is not empty. Default false: such a directory is an error. */
  readonly overwrite?: boolean;
}

/** What {@link convertLlama2cToHf} wrote. */
export interface ConvertLlama2cToHfResult {
  /** The absolute output directory. */
  readonly outDir: string;
  /** File names written into it, sorted. */
  readonly files: readonly string[];
  /**
   * Whether `tokenizer.json` encodes provably exactly as llama2.c does. When false, the llama2.c `tokenizer.bin`
   * was copied alongside (or instead, when the vocabulary cannot be expressed as tokenizer.json), and
   * `loadTokenizer(outDir)` prefers it.
   */
  readonly tokenizerExact: boolean;
}

/**
 * Converts a llama2.c checkpoint and its tokenizer into a Hugging Face Llama directory: `config.json`
 * (`LlamaForCausalLM`, torch_dtype float32), `generation_config.json`, `model.safetensors` (F32, HF names,
 * no `lm_head.weight` when the classifier is tied), `tokenizer.json` + `tokenizer_config.json` (a BPE
 * tokenizer whose merges reproduce llama2.c's score-driven merging), plus `tokenizer.bin` when exact
 * tokenizer equality is not guaranteed.
 *
 * The q_proj and k_proj rows are permuted from llama2.c's interleaved RoPE pairs to HF's rotate-half layout
 * (within each head, row 2i → i and row 2i+1 → i + headDim/2), so an HF runtime computes the same function.
 * Tensors are streamed one at a time. Everything is written into a temporary sibling directory that is renamed
 * to `outDir` only when complete, so a failure leaves no half-written model behind. Output is deterministic.
 *
 * @param binPath - The llama2.c `.bin` checkpoint.
 * @param tokenizerBinPath - Its llama2.c tokenizer `.bin` (must hold exactly vocab_size pieces).
 * @param outDir - The directory to create.
 * @throws {TypeError} for non-string paths.
 * @throws {LoaderError} VPTQ_LOADER_OUTPUT_EXISTS when `outDir` is non-empty and `overwrite` is not set, any
 * error of openLlama2c / loadLlama2cTokenizer, or VPTQ_LOADER_IO for a failed write.
 */
export function convertLlama2cToHf(
  binPath: string,
  tokenizerBinPath: string,
  outDir: string,
  options: ConvertLlama2cToHfOptions = {},
): ConvertLlama2cToHfResult {
  for (const [name, value] of [
    ['binPath', binPath],
    ['tokenizerBinPath', tokenizerBinPath],
    ['outDir', outDir],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(`convertLlama2cToHf: ${name} must be a non-empty string (got ${String(value)})`);
    }
  }
  const target = resolve(outDir);
  if (existsSync(target)) {
    const isEmptyDir = statSync(target).isDirectory() && readdirSync(target).length === 0;
    if (!isEmptyDir && !options.overwrite) {
      throw new LoaderError(
        'VPTQ_LOADER_OUTPUT_EXISTS',
        `${fn}: ${target} already exists and is not an empty directory; pass { overwrite: true } to replace it`,
        { path: target },
      );
    }
  }

  const model = openLlama2c(binPath);
  try {
    const vocab = readLlama2cVocab(fn, tokenizerBinPath, model.config.vocabSize);
    const tokenizer = buildLlama2cTokenizerJson(vocab);
    const staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    try {
      mkdirSync(staging, { recursive: true });
      writeJson(join(staging, 'config.json'), llamaConfigToHfJson(model.config));
      writeJson(join(staging, 'generation_config.json'), {
        bos_token_id: model.config.bosTokenId,
        eos_token_id: model.config.eosTokenId,
      });
      writeSafetensors(join(staging, 'model.safetensors'), model);
      let tokenizerExact = false;
      if (typeof tokenizer === 'string') {
        copyFileSync(tokenizerBinPath, join(staging, 'tokenizer.bin'));
      } else {
        writeJson(join(staging, 'tokenizer.json'), tokenizer.tokenizerJson);
        writeJson(join(staging, 'tokenizer_config.json'), tokenizer.tokenizerConfig);
        tokenizerExact = tokenizer.exact;
        if (!tokenizer.exact) copyFileSync(tokenizerBinPath, join(staging, 'tokenizer.bin'));
      }
      replaceDirectory(staging, target);
      return { outDir: target, files: readdirSync(target).sort(), tokenizerExact };
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (error instanceof LoaderError) throw error;
      throw new LoaderError('VPTQ_LOADER_IO', `${fn}: cannot write ${target} (${(error as Error).message})`, {
        path: target,
        cause: error,
      });
    }
  } finally {
    model.close();
  }
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Streams the model into a safetensors file one tensor at a time. The header comes from pack-format's
 * `encodeSafetensors` over zero placeholders of the right sizes, so the layout (and bytes) are exactly the
 * reference writer's; the real data is then written at the offsets that header assigns.
 */
function writeSafetensors(path: string, model: ModelSource): void {
  const largest = Math.max(...model.tensors.map((tensor) => byteLengthOf(tensor.shape)));
  const placeholder = new ArrayBuffer(largest);
  const chunks = encodeSafetensors(
    model.tensors.map((tensor) => ({
      name: tensor.name,
      dtype: 'F32',
      shape: tensor.shape,
      data: new Uint8Array(placeholder, 0, byteLengthOf(tensor.shape)),
    })),
    { format: 'pt' },
  );
  const headerBytes = chunks[0];
  const totalLength = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const headerSource = createByteSource(headerBytes);
  const header = parseSafetensorsHeader({ byteLength: totalLength, read: headerSource.read }, path);
  const { headDim } = model.config;

  const fd = openSync(path, 'w');
  try {
    writeAll(fd, headerBytes, 0);
    for (const info of header.tensors) {
      let values = model.readTensor(info.name);
      if (/\.self_attn\.[qk]_proj\.weight$/.test(info.name)) values = interleavedToHalf(values, info.shape, headDim);
      writeAll(fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength), info.byteOffset);
    }
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done, position + done);
}

function byteLengthOf(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1) * 4;
}

/** Reorders the rows of a `[heads·headDim, inFeatures]` q/k weight from adjacent RoPE pairs to rotate-half pairs. */
function interleavedToHalf(values: Float32Array, shape: readonly number[], headDim: number): Float32Array {
  const [rows, cols] = shape;
  const half = headDim / 2;
  const permuted = new Float32Array(values.length);
  for (let head = 0; head < rows / headDim; head++) {
    const base = head * headDim;
    for (let i = 0; i < half; i++) {
      permuted.set(values.subarray((base + 2 * i) * cols, (base + 2 * i + 1) * cols), (base + i) * cols);
      permuted.set(values.subarray((base + 2 * i + 1) * cols, (base + 2 * i + 2) * cols), (base + half + i) * cols);
    }
  }
  return permuted;
}

/** Moves the finished staging directory into place, keeping the old target until the new one is there. */
function replaceDirectory(staging: string, target: string): void {
  if (!existsSync(target)) {
    mkdirSync(dirname(target), { recursive: true });
    renameSync(staging, target);
    return;
  }
  const retired = join(dirname(target), `.${basename(target)}.old-${process.pid}`);
  rmSync(retired, { recursive: true, force: true });
  renameSync(target, retired);
  try {
    renameSync(staging, target);
  } catch (error) {
    renameSync(retired, target);
    throw error;
  }
  rmSync(retired, { recursive: true, force: true });
}
