import type { ForwardProgram } from './forward-program';
import { readMapped } from './read-mapped';

/** Options of greedy decoding (see `GpuLlamaModel.decodeGreedy`). */
export interface GreedyDecodeOptions {
  /** Most tokens to produce. */
  readonly maxTokens: number;
  /** Ids that end decoding without being returned. Default none. */
  readonly stopTokens?: readonly number[];
  /** Called with each produced id, in order, as soon as it is read back. */
  readonly onToken?: (token: number) => void;
  /**
   * Tokens submitted ahead of the last one read back (1 = wait for every token). The chosen id feeds the next
   * step on the GPU, so steps queue up without waiting; ids computed past a stop token are discarded.
   * Default 2.
   */
  readonly lookahead?: number;
}

/** What greedy decoding produced. */
export interface GreedyDecodeResult {
  /** Produced ids, without the stop token. */
  readonly tokens: number[];
  /** `'stop'`: a stop token came; `'length'`: maxTokens reached; `'context'`: the KV cache is full. */
  readonly stopReason: 'stop' | 'length' | 'context';
}

/** What the decode loop needs of its model. */
export interface DecodeTarget {
  readonly device: GPUDevice;
  readonly contextLength: number;
  /** `[chunk]` u32 token ids; the argmax program writes the chosen id into element 0. */
  readonly tokenIds: GPUBuffer;
  /** The single-token program ending in the argmax. */
  readonly program: ForwardProgram;
  /** A 4-byte readback buffer per in-flight step (`slot` < lookahead). */
  idReadback(slot: number): GPUBuffer;
  /** Records how many positions the KV cache holds. */
  setCachedPositions(positions: number): void;
}

/** Checks the options of greedy decoding. */
export function checkGreedyDecodeOptions(name: string, options: GreedyDecodeOptions | undefined): Required<Omit<GreedyDecodeOptions, 'onToken'>> {
  const { maxTokens, stopTokens = [], lookahead = 2 } = options ?? ({ maxTokens: Number.NaN } as GreedyDecodeOptions);
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new RangeError(`${name}: options.maxTokens must be a non-negative integer (got ${maxTokens})`);
  if (!Number.isInteger(lookahead) || lookahead < 1 || lookahead > 64) {
    throw new RangeError(`${name}: options.lookahead must be an integer between 1 and 64 (got ${lookahead})`);
  }
  return { maxTokens, stopTokens, lookahead };
}

/**
 * Greedy decoding from `token` at `position`: each step runs one token (one submit), its argmax becomes the next
 * step's input on the GPU, and ids are read back `lookahead` steps behind, so the GPU never waits for the CPU.
 * Leaves `position + steps read` positions cached, as a loop of `forward` calls would.
 */
export async function runGreedyDecode(target: DecodeTarget, token: number, position: number, options: GreedyDecodeOptions): Promise<GreedyDecodeResult> {
  const { maxTokens, stopTokens, lookahead } = checkGreedyDecodeOptions('decodeGreedy', options);
  const { device, program } = target;
  const stops = new Set(stopTokens);
  const produced: number[] = [];
  if (maxTokens === 0) return { tokens: produced, stopReason: 'length' };
  target.setCachedPositions(position);
  device.queue.writeBuffer(target.tokenIds, 0, new Uint32Array([token]));
  // Step s feeds one token at position + s and yields produced[s]; there are at most maxTokens steps.
  const steps = Math.min(maxTokens, target.contextLength - position);
  let submitted = 0;
  let read = 0;
  let stopReason: GreedyDecodeResult['stopReason'] = 'length';
  for (;;) {
    while (submitted < steps && submitted - read < lookahead) {
      program.setPosition(position + submitted);
      const encoder = device.createCommandEncoder({ label: 'llama-decode' });
      program.encode(encoder);
      encoder.copyBufferToBuffer(target.tokenIds, 0, target.idReadback(submitted % lookahead), 0, 4);
      device.queue.submit([encoder.finish()]);
      submitted++;
    }
    const id = new Uint32Array(await readMapped(target.idReadback(read % lookahead), 4))[0];
    read++;
    target.setCachedPositions(position + read);
    if (stops.has(id)) {
      stopReason = 'stop';
      break;
    }
    produced.push(id);
    options.onToken?.(id);
    if (produced.length >= maxTokens) break;
    if (read >= steps) {
      stopReason = 'context';
      break;
    }
  }
  // Steps submitted past the end wrote cache rows beyond the cached positions, which nothing reads; let them finish.
  if (submitted > read) await device.queue.onSubmittedWorkDone();
  return { tokens: produced, stopReason };
}
