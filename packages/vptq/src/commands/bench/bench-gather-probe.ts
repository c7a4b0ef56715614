import type { Command } from 'commander';
import { benchmarkGatherProbe } from '@vptq/kernels-webgpu/bench';

import { createNodeDevice, releaseNodeDevice } from '../../create-node-device';
import { printTable } from '../print-table';
import { integerOption } from '../parse-options';

interface GatherProbeFlags {
  indexWords: number;
  workgroups: number;
  workgroupSize: number;
  iterations: number;
  repeats: number;
  entries?: string[];
  entryBytes?: string[];
  lookupsPerIndex?: string[];
  json?: boolean;
}

const numbers = (flag: string, values: readonly string[] | undefined): number[] | undefined =>
  values?.map((value) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 1) throw new Error(`bench gather-probe: ${flag} takes positive integers (got ${value})`);
    return number;
  });

/** `vptq bench gather-probe`: the codebook-lookup ceiling (issue 10), table in workgroup memory vs storage. */
export function registerBenchGatherProbe(bench: Command): void {
  bench
    .command('gather-probe')
    .description('random codebook lookups driven by a 16-bit index stream: table in a storage buffer vs workgroup memory (plain, replicated)')
    .option('--index-words <n>', '32-bit index words per run (2 lookups each)', integerOption('--index-words', 1), 2 ** 24)
    .option('--workgroups <n>', 'persistent workgroups', integerOption('--workgroups', 1), 528)
    .option('--workgroup-size <n>', 'invocations per workgroup', integerOption('--workgroup-size', 1), 256)
    .option('--iterations <n>', 'runs per measurement', integerOption('--iterations', 1), 20)
    .option('--repeats <n>', 'measurements (median reported)', integerOption('--repeats', 1), 5)
    .option('--entries <n...>', 'table sizes (default 256 1024 4096 16384 65536)')
    .option('--entry-bytes <n...>', 'entry sizes: 4, 8, 16 (default all)')
    .option('--lookups-per-index <n...>', 'lookups per streamed index (default 1 4)')
    .option('--json', 'print JSON lines')
    .action(async (flags: GatherProbeFlags) => {
      const entryBytes = numbers('--entry-bytes', flags.entryBytes);
      if (entryBytes?.some((bytes) => bytes !== 4 && bytes !== 8 && bytes !== 16)) throw new Error(`bench gather-probe: --entry-bytes takes 4, 8 or 16 (got ${entryBytes.join(' ')})`);
      const { device, info } = await createNodeDevice();
      try {
        const rows = await benchmarkGatherProbe(device, {
          indexWords: flags.indexWords,
          workgroups: flags.workgroups,
          workgroupSize: flags.workgroupSize,
          iterations: flags.iterations,
          repeats: flags.repeats,
          entries: numbers('--entries', flags.entries),
          entryBytes: entryBytes as (4 | 8 | 16)[] | undefined,
          lookupsPerIndex: numbers('--lookups-per-index', flags.lookupsPerIndex),
          onRow: (row) =>
            process.stderr.write(`${row.table}×${row.replicas} ${row.entryBytes} B × ${row.entries}, ${row.lookupsPerIndex}/index: ${row.microseconds.toFixed(1)} µs\n`),
        });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ adapter: info.adapterInfo, workgroupStorage: device.limits.maxComputeWorkgroupStorageSize, rows })}\n`);
          return;
        }
        process.stdout.write(`adapter: ${info.adapterInfo.vendor} ${info.adapterInfo.device} ${info.adapterInfo.description}\n`);
        printTable(
          ['table', 'replicas', 'entry B', 'entries', 'lookups/index', 'µs', 'G lookups/s', 'index GB/s', 'f16-eq GB/s'],
          rows.map((row) => [
            row.table,
            row.replicas,
            row.entryBytes,
            row.entries,
            row.lookupsPerIndex,
            row.microseconds.toFixed(1),
            row.gigaLookupsPerSecond.toFixed(1),
            row.indexGbPerSecond.toFixed(0),
            row.f16EquivalentGbPerSecond.toFixed(0),
          ]),
        );
      } finally {
        releaseNodeDevice(device);
      }
    });
}
