import type { QuantizeSettings } from './quantize-defaults';

/** A VPTQ setting in the published models' naming, e.g. `v8-k256-r256` (`-g2` with groups, `-o1%` with outliers). */
export function describeVptq(settings: Pick<QuantizeSettings, 'vectorLength' | 'numCentroids' | 'numResidualCentroids' | 'groupNum' | 'outlierPercent'>): string {
  let name = `v${settings.vectorLength}-k${settings.numCentroids}`;
  if (settings.numResidualCentroids > 0) name += `-r${settings.numResidualCentroids}`;
  if (settings.groupNum > 1) name += `-g${settings.groupNum}`;
  if (settings.outlierPercent > 0) name += `-o${settings.outlierPercent}%`;
  return name;
}

/** The method with its setting, e.g. `VPTQ v8-k256-r256` or `GPTQ 3-bit`. */
export function describeQuantization(settings: Pick<QuantizeSettings, 'method' | 'bits' | 'vectorLength' | 'numCentroids' | 'numResidualCentroids' | 'groupNum' | 'outlierPercent'>): string {
  return settings.method === 'vptq' ? `VPTQ ${describeVptq(settings)}` : `${settings.method.toUpperCase()} ${settings.bits}-bit`;
}
