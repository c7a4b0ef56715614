import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';

import { writeFileAtomic } from '../quantize/write-atomic';
import { readQuantizationReport } from '../report/quantization-report';
import { renderQuantizationReport } from '../report/render-report';

interface ReportFlags {
  out?: string;
}

/** `vptq report DIR`: the HTML quantization report of an output directory of `vptq quantize`. */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write the quantization report of a vptq quantize output directory as one self-contained HTML page (charts included)')
    .argument('<dir>', 'output directory of vptq quantize (holds quantization-report.json)')
    .option('-o, --out <file>', 'HTML file to write (default: <dir>-report.html beside the directory)')
    .action((dir: string, flags: ReportFlags) => {
      const file = flags.out ?? `${resolve(dir)}-report.html`;
      writeReportHtml(dir, file);
      process.stdout.write(`wrote ${file}\n`);
    });
}

/**
 * Renders the report kept in `dir` (`quantization-report.json`) and writes it to `file` atomically, creating its
 * folder if needed.
 *
 * @throws {QuantizationReportError} when `dir` holds no readable report.
 */
export function writeReportHtml(dir: string, file: string): void {
  const html = renderQuantizationReport(readQuantizationReport(dir));
  checkReportFile(file);
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileAtomic(file, html);
}

/** Fails early (before a long run) when the report's path cannot be a file. */
export function checkReportFile(file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) throw new Error(`report: ${file} is a directory; give the HTML file to write`);
}
