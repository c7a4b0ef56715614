import type { Command } from 'commander';
import { openModel } from '@vptq/loader/node';
import type { VptqModelSource } from '@vptq/loader';
import { computeVptqLayerBits, findReferenceMisreads, sumVptqBits } from '@vptq/pack-format';
import type { VptqBits } from '@vptq/pack-format';

import { printTable } from './print-table';

interface InspectFlags {
  json?: boolean;
}

/** One quantized linear as `vptq inspect` reports it. */
interface InspectedLayer {
  readonly name: string;
  readonly shape: readonly [number, number];
  readonly config: string;
  readonly indexBitsPerWeight: number;
  readonly bitsPerWeight: number;
  /** How the reference implementation (microsoft/VPTQ) would misread the layer, if at all (`findReferenceMisreads`). */
  readonly referenceMisreads: readonly string[];
}

/** `vptq inspect DIR`: per-layer VPTQ configuration and bits per weight of a packed model. */
export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('print the per-layer VPTQ configuration and bits per weight of a packed model directory')
    .argument('<dir>', 'VPTQ model directory (ours or a published one)')
    .option('--json', 'print one JSON object')
    .action((dir: string, flags: InspectFlags) => {
      const source = openModel(dir);
      try {
        if (source.format !== 'vptq') throw new Error(`inspect: ${dir} is not a VPTQ model (format ${source.format})`);
        const vptq = source as VptqModelSource;
        const layers: InspectedLayer[] = [];
        const bits: VptqBits[] = [];
        for (const info of vptq.quantizedLayers) {
          const { config, tensors } = vptq.readQuantizedLayer(info.name);
          const layerBits = computeVptqLayerBits(config, { floatDtype: tensors.centroids.dtype });
          bits.push(layerBits);
          layers.push({
            name: info.name,
            shape: [config.outFeatures, config.inFeatures],
            config: describe(config),
            indexBitsPerWeight: layerBits.indexBitsPerWeight,
            bitsPerWeight: layerBits.bitsPerWeight,
            referenceMisreads: findReferenceMisreads(config).map((misread) => misread.message),
          });
        }
        const total = sumVptqBits(bits);
        const summary = {
          model: dir,
          architecture: source.config.modelType,
          quantizedLayers: layers.length,
          quantizedWeights: total.weights,
          indexBitsPerWeight: total.indexBitsPerWeight,
          bitsPerWeight: total.bitsPerWeight,
        };
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ ...summary, layers })}\n`);
          return;
        }
        printTable(
          ['layer', 'shape', 'config', 'index bits/w', 'total bits/w'],
          layers.map((layer) => [layer.name, layer.shape.join('×'), layer.config, layer.indexBitsPerWeight.toFixed(3), layer.bitsPerWeight.toFixed(3)]),
        );
        process.stdout.write(
          `\n${summary.quantizedLayers} quantized linears, ${summary.quantizedWeights} weights: ` +
            `${summary.indexBitsPerWeight.toFixed(3)} index bits/weight, ${summary.bitsPerWeight.toFixed(3)} total bits/weight ` +
            `(codebooks, norm, perm and padding included)\n`,
        );
        const misread = new Map<string, string[]>();
        for (const layer of layers) for (const message of layer.referenceMisreads) misread.set(message, [...(misread.get(message) ?? []), layer.name]);
        for (const [message, names] of misread) {
          process.stdout.write(
            `warning: the reference implementation (microsoft/VPTQ) would misread ${names.length} layer${names.length > 1 ? 's' : ''} ` +
              `(${names[0]}${names.length > 1 ? ', …' : ''}): ${message}; this library reads them right\n`,
          );
        }
      } finally {
        source.close();
      }
    });
}

function describe(config: VptqModelSource['quantizedLayers'][number]['config']): string {
  const parts = [`v${config.vectorLength}`, `k${config.numCentroids}`];
  if (config.numResidualCentroids > 0) parts.push(`res${config.numResidualCentroids}`);
  if (config.outlierSize > 0) parts.push(`outliers ${config.outlierSize}×v${config.outlierVectorLength}-k${config.numOutlierCentroids}`);
  if (config.groupNum > 1) parts.push(`g${config.groupNum}`);
  if (config.enableNorm) parts.push('norm');
  if (config.enablePerm) parts.push('perm');
  return parts.join(' ');
}
