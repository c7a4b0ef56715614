/**
 * Dense row-major f32 matrix: element (r, c) is `data[r * cols + c]`. A linear layer's weight is
 * `[outFeatures, inFeatures]`, as PyTorch stores `nn.Linear.weight`. Structurally the same as `Matrix` in
 * `@vptq/kmeans`.
 */
export interface WeightMatrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}
