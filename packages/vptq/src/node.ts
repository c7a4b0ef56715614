// `vptq/node`: the facade's Node-only half. Dawn devices (the optional peer `webgpu`), models and tokenizers opened
// by path (synchronously, or as ModelFiles for loadCpu/loadGpu), and `quantize`, which reads and writes
// directories, and the quantization report (read from an output directory, Chart.js inlined from node_modules).
// The main entry runs in browsers.
export { createNodeDevice, releaseNodeDevice } from './create-node-device';
export type { NodeDeviceOptions } from './create-node-device';
export { nodeModelFiles } from '@vptq/loader/node';
export { load } from './load';
export type { LoadOptions } from './load';
export { openModelWithTokenizer } from './load-model';
export type { OpenedModel } from './load-model';
export { quantize } from './quantize/quantize-model';
export type { QuantizeResult } from './quantize/quantize-model';
export type { QuantizeOptions } from './quantize/quantize-options';
export { readQuantizationReport, recordPerplexity, QuantizationReportError } from './report/quantization-report';
export type { QuantizationReport, QuantizationReportErrorCode, ReportPerplexity } from './report/quantization-report';
export { renderQuantizationReport } from './report/render-report';
export type { RenderReportOptions } from './report/render-report';
// Distributed quantization: a coordinator queues each layer's projections on Redis (BullMQ), workers quantize them.
export { quantizeDistributed } from './distributed/quantize-distributed';
export type { QuantizeDistributedOptions } from './distributed/quantize-distributed';
export { runQuantizeWorker } from './distributed/run-quantize-worker';
export type { QuantizeWorkerOptions, QuantizeWorkerSummary } from './distributed/run-quantize-worker';
export { DistributedError } from './distributed/distributed-error';
export type { DistributedErrorCode } from './distributed/distributed-error';
