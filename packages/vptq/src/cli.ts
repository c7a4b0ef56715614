#!/usr/bin/env node
import { Command } from 'commander';

import { registerBench } from './commands/bench/bench';
import { registerConvert } from './commands/convert';
import { registerDemo } from './commands/demo';
import { registerEval } from './commands/eval';
import { registerGenerate } from './commands/generate';
import { registerInspect } from './commands/inspect';
import { registerQuantize } from './commands/quantize';
import { registerReport } from './commands/report';
import { runCli } from './commands/run-cli';
import { registerWorker } from './commands/worker';

const program = new Command('vptq')
  .description('Quantize Llama-family models to ~2 bits with VPTQ and run them on the CPU or WebGPU')
  .showHelpAfterError();
registerEval(program);
registerGenerate(program);
registerConvert(program);
registerQuantize(program);
registerReport(program);
registerInspect(program);
registerBench(program);
registerDemo(program);
registerWorker(program);

await runCli(program, process.argv);
