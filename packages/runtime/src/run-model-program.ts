import type { ForwardOptions, LanguageModel } from './language-model';

/** One forward pass a driver asks for. */
export interface ForwardRequest {
  readonly tokens: readonly number[];
  readonly startPosition: number;
  readonly options: ForwardOptions;
}

/**
 * A driver written once for synchronous and asynchronous models: it yields the forward passes it needs and
 * receives their logits, so the same code runs a CPU model synchronously and a GPU model with awaits.
 */
export type ModelProgram<T> = Generator<ForwardRequest, T, Float32Array>;

/**
 * Runs `program` against `model`: synchronously while `model.forward` returns arrays, switching to a Promise
 * the first time it returns one.
 */
export function runModelProgram<T>(model: LanguageModel, program: ModelProgram<T>): T | Promise<T> {
  let step = program.next();
  while (!step.done) {
    const { tokens, startPosition, options } = step.value;
    const logits = model.forward(tokens, startPosition, options);
    if (isPromise(logits)) return continueAsync(model, program, logits);
    step = program.next(logits);
  }
  return step.value;
}

async function continueAsync<T>(model: LanguageModel, program: ModelProgram<T>, pending: Promise<Float32Array>): Promise<T> {
  let step = program.next(await pending);
  while (!step.done) {
    const { tokens, startPosition, options } = step.value;
    step = program.next(await model.forward(tokens, startPosition, options));
  }
  return step.value;
}

function isPromise(value: unknown): value is Promise<Float32Array> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
