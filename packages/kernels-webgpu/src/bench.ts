// `@vptq/kernels-webgpu/bench`: the kernel benchmarks and the random packed layers they (and tests elsewhere)
// run on, apart from the product entry. `vptq bench kernels` runs them.
export { benchmarkKernels, benchmarkVqConfigs, defaultBenchmarkConfigs, defaultGemvVariants, llama2Shapes } from './bench/benchmark-kernels';
export type { BenchmarkGemvVariant, BenchmarkKernelsOptions, BenchmarkShape, BenchmarkVqConfig, KernelBenchmarkResult, KernelBenchmarkRow } from './bench/benchmark-kernels';
export { benchmarkHessianAccumulator } from './bench/benchmark-hessian-accumulator';
export type { HessianBenchmarkOptions, HessianBenchmarkRow } from './bench/benchmark-hessian-accumulator';
export { createSyntheticVqLayer } from './bench/create-synthetic-vq-layer';
export type { SyntheticVqLayerOptions } from './bench/create-synthetic-vq-layer';
export { benchmarkKmeans, vptqKmeansCases } from './bench/benchmark-kmeans';
export type { BenchmarkKmeansOptions, KmeansBenchmarkCase, KmeansBenchmarkRow } from './bench/benchmark-kmeans';
export { benchmarkVptqPass, vptqPassTargets } from './bench/benchmark-vptq-pass';
export type { BenchmarkVptqPassOptions, VptqPassBenchmarkCase, VptqPassBenchmarkRow } from './bench/benchmark-vptq-pass';
export { benchmarkRefit, refitTargets } from './bench/benchmark-refit';
export type { BenchmarkRefitOptions, RefitBenchmarkCase, RefitBenchmarkRow } from './bench/benchmark-refit';
export { benchmarkGatherProbe, gatherProbeCases, runGatherProbe } from './bench/gather-probe/gather-probe';
export type { BenchmarkGatherProbeOptions, GatherProbeCase, GatherProbeLaunch, GatherProbeRow, GatherProbeTable } from './bench/gather-probe/gather-probe';
export { gatherProbeCpu } from './bench/gather-probe/gather-probe-cpu';
export type { GatherProbeProblem } from './bench/gather-probe/gather-probe-cpu';
