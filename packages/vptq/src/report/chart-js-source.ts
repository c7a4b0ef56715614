import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The source of Chart.js's UMD build (`chart.js/dist/chart.umd.js`, one self-contained file that defines the
 * global `Chart`), read from the installed `chart.js` dependency, for inlining into a report page. Its exports map
 * offers no path to that file, so it is found beside the package's CommonJS entry.
 *
 * @throws {Error} naming the path when the file is not there.
 */
export function readChartJsSource(): string {
  const entry = createRequire(import.meta.url).resolve('chart.js');
  const file = join(dirname(entry), 'chart.umd.js');
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`report: cannot read Chart.js's UMD build at ${file} (${(error as Error).message}); reinstall vptq`, { cause: error });
  }
}
