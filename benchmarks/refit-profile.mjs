// Where a refinement round's refit goes on the GPU (issue 9): the refit engine at the 7B layer's shapes with the
// dense solver, 25 and 100 matrix-free CG iterations (all run). One JSON line per row.
// Here, after building: `node benchmarks/refit-profile.mjs --divide 16` (lavapipe: shrunk cases).
// Device machine: bundled by scripts/device-bundle.sh into .device/refit-profile.mjs.
import { createNodeDevice } from '../packages/vptq/dist/node.js';
import { benchmarkRefit } from '../packages/kernels-webgpu/dist/bench.js';

const args = process.argv.slice(2);
const divideAt = args.indexOf('--divide');
const divide = divideAt >= 0 ? Number(args[divideAt + 1]) : 1;
const print = (kind, row) => process.stdout.write(`${JSON.stringify({ kind, ...row })}\n`);

const { device } = await createNodeDevice();
try {
  const side = (n) => Math.round(n / divide);
  const k = Math.max(2, 4096 / (divide * divide));
  const cases = [
    [4096, 4096],
    [11008, 4096],
    [4096, 11008],
  ].map(([rows, cols]) => ({ rows: side(rows), cols: side(cols), vectorLength: 6, numCentroids: k }));
  // cgTolerance 0 runs every iteration: the synthetic H̃ converges faster than a real one.
  const engines = [{ solver: 'dense' }, { solver: 'cg', cgIterations: 25, cgTolerance: 0 }, { solver: 'cg', cgTolerance: 0 }];
  for (const row of await benchmarkRefit(device, { cases, engines, refits: 1 })) print('refit', row);
} finally {
  device.destroy();
}
