// `@vptq/runtime/bench`: the runtime's benchmarks, apart from the product entry. `vptq bench decode|eval` runs them.
export { benchmarkDecode, decodeBenchmarkQuantizations, llama2DecodeShape, tinyDecodeShape } from './bench/benchmark-decode';
export type { DecodeBenchmarkOptions, DecodeBenchmarkResult, DecodeBenchmarkRow, DecodeBenchmarkShape, DecodeBreakdown } from './bench/benchmark-decode';
export { benchmarkEvalSpeed } from './bench/benchmark-eval-speed';
export type { EvalSpeedOptions, EvalSpeedResult, EvalSpeedRun } from './bench/benchmark-eval-speed';
