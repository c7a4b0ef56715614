import { bf16BitsToF32, f32ToBf16Bits } from './bf16-bits';
import { f16ArrayToF32, f32ToF16Bits } from './f16-bits';

/**
 * A floating-point payload at its stored precision: F16/BF16 as `Uint16Array` bit patterns (Node 20 has
 * no `Float16Array`), F32 as `Float32Array`. Codebooks, norm scales and biases use it.
 */
export type FloatTensor =
  | { readonly dtype: 'F16' | 'BF16'; readonly data: Uint16Array }
  | { readonly dtype: 'F32'; readonly data: Float32Array };

/** The dtypes a {@link FloatTensor} can have. */
export type FloatTensorDtype = FloatTensor['dtype'];

/**
 * Rounds f32 values to a stored precision (round to nearest even for F16 and BF16).
 *
 * @param values - `[count]` f32 values.
 * @param dtype - `F16`, `BF16` or `F32` (F32 copies).
 * @returns a new `[count]` payload.
 * @throws {RangeError} for any other dtype.
 */
export function floatTensorFromF32(values: Float32Array, dtype: FloatTensorDtype): FloatTensor {
  if (!(values instanceof Float32Array)) throw new TypeError('floatTensorFromF32: values must be a Float32Array');
  switch (dtype) {
    case 'F32':
      return { dtype, data: values.slice() };
    case 'F16':
      return { dtype, data: Uint16Array.from(values, f32ToF16Bits) };
    case 'BF16':
      return { dtype, data: Uint16Array.from(values, f32ToBf16Bits) };
    default:
      throw new RangeError(`floatTensorFromF32: dtype must be F16, BF16 or F32 (got ${String(dtype)})`);
  }
}

/**
 * Widens a payload to f32, exactly.
 *
 * @returns a new `[count]` Float32Array.
 */
export function floatTensorToF32(tensor: FloatTensor): Float32Array {
  switch (tensor.dtype) {
    case 'F32':
      return tensor.data.slice();
    case 'F16':
      return f16ArrayToF32(tensor.data);
    case 'BF16':
      return Float32Array.from(tensor.data, bf16BitsToF32);
    default:
      throw new RangeError(`floatTensorToF32: dtype must be F16, BF16 or F32 (got ${String((tensor as FloatTensor).dtype)})`);
  }
}
