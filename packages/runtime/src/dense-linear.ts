import type { Linear } from './linear';
import { matmulTransposed } from './matmul-transposed';

/** A {@link Linear} backed by a full-precision f32 weight matrix. */
export interface DenseLinear extends Linear {
  readonly kind: 'dense';
  /** `[outFeatures, inFeatures]` f32, row-major; shared, not copied. */
  readonly weight: Float32Array;
  /** `[outFeatures]` f32, or undefined when the layer has no bias. */
  readonly bias: Float32Array | undefined;
}

/** Shape and optional bias of a {@link createDenseLinear} layer. */
export interface DenseLinearOptions {
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** `[outFeatures]` f32 bias (Qwen2 q/k/v projections). Default: none. */
  readonly bias?: Float32Array;
}

/**
 * Wraps an f32 weight matrix (and optional bias) as a {@link Linear}; `forward` is {@link matmulTransposed}.
 *
 * @param weight - `[outFeatures, inFeatures]` f32, row-major; kept by reference (a tied classifier shares the
 * embedding matrix this way).
 * @throws {RangeError} if the weight or bias length disagrees with the shape.
 */
export function createDenseLinear(weight: Float32Array, options: DenseLinearOptions): DenseLinear {
  const { outFeatures, inFeatures, bias } = options;
  if (!Number.isInteger(outFeatures) || outFeatures < 1 || !Number.isInteger(inFeatures) || inFeatures < 1) {
    throw new RangeError(
      `createDenseLinear: outFeatures and inFeatures must be positive integers (got ${outFeatures} and ${inFeatures})`,
    );
  }
  if (!(weight instanceof Float32Array) || weight.length !== outFeatures * inFeatures) {
    throw new RangeError(
      `createDenseLinear: weight must be a Float32Array of outFeatures × inFeatures values (got ${describe(weight)}, expected ${outFeatures} × ${inFeatures})`,
    );
  }
  if (bias !== undefined && (!(bias instanceof Float32Array) || bias.length !== outFeatures)) {
    throw new RangeError(
      `createDenseLinear: bias must be a Float32Array of outFeatures values (got ${describe(bias)}, expected ${outFeatures})`,
    );
  }
  return {
    kind: 'dense',
    inFeatures,
    outFeatures,
    weight,
    bias,
    forward(input: Float32Array, tokens: number): Float32Array {
      return matmulTransposed(input, weight, { tokens, inFeatures, outFeatures, bias });
    },
  };
}

function describe(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${(value as Float32Array).length}`;
  return String(value);
}
