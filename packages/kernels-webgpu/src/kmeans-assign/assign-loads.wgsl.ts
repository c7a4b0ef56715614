/**
 * What the tiled nearest-centroid scans share (`kmeans-assign` over every point, `kmeans-scan` over a list): the
 * register and tile sizes, and the loads of a point's and a centroid's coordinates as up to four vec4 (zero past
 * `dim`). Needs the including shader's `dim` override and its `points` and `centroids` storage arrays.
 */
export const assignLoadsWgsl = /* wgsl */ `
const maxPoints = 4u;
const maxVectors = 4u;
const largest = 0x1.fffffep+127f;

fn loadPoint(point: u32, v: u32) -> vec4f {
  var value = vec4f(0.0);
  for (var lane = 0u; lane < 4u; lane++) {
    if (v * 4u + lane < dim) {
      value[lane] = points[point * dim + v * 4u + lane];
    }
  }
  return value;
}

fn loadCentroid(centroid: u32, v: u32) -> vec4f {
  var value = vec4f(0.0);
  for (var lane = 0u; lane < 4u; lane++) {
    if (v * 4u + lane < dim) {
      value[lane] = centroids[centroid * dim + v * 4u + lane];
    }
  }
  return value;
}
`;
