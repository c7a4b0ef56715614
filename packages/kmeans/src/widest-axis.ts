/** The coordinate with the largest variance over the centroids (lowest such index on ties). */
export function widestAxis(data: Float32Array, count: number, dim: number): number {
  let axis = 0;
  let widest = -1;
  for (let j = 0; j < dim; j++) {
    let sum = 0;
    for (let c = 0; c < count; c++) sum += data[c * dim + j];
    const mean = sum / count;
    let spread = 0;
    for (let c = 0; c < count; c++) {
      const d = data[c * dim + j] - mean;
      spread += d * d;
    }
    if (spread > widest) {
      widest = spread;
      axis = j;
    }
  }
  return axis;
}
