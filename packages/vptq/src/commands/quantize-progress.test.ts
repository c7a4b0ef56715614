import { describe, expect, it } from 'vitest';

import { createQuantizeProgress } from './quantize';

describe('createQuantizeProgress', () => {
  it('prints a line per computed layer off a terminal, with its phases and an ETA for the rest', () => {
    let written = '';
    const stream = { isTTY: false, write: (text: string) => ((written += text), true) } as unknown as NodeJS.WriteStream;
    const progress = createQuantizeProgress(stream);
    progress.onEvent({ type: 'log', message: 'quantizing on CPU' });
    progress.onEvent({ type: 'layer', layer: 0, layers: 3, resumed: true });
    progress.onEvent({ type: 'phase', layer: 0, phase: 'replay' });
    for (const layer of [1, 2]) {
      progress.onEvent({ type: 'layer', layer, layers: 3, resumed: false });
      for (const phase of ['calibrate', 'prepare', 'quantize', 'checkpoint'] as const) progress.onEvent({ type: 'phase', layer, phase });
    }
    progress.stop();
    const lines = written.trim().split('\n');
    expect(lines[0]).toBe('quantizing on CPU');
    // The resumed layer is not timed; the first computed one gives an ETA for the one left.
    expect(lines[1]).toMatch(/^layer 2\/3 done in \d+\.\d s \(calibrate \d+\.\d, prepare \d+\.\d, quantize \d+\.\d, checkpoint \d+\.\d\), eta \d+ s$/);
    expect(lines[2]).toMatch(/^layer 3\/3 done in \d+\.\d s \(calibrate/);
    expect(lines[2]).not.toMatch(/eta/);
    expect(lines).toHaveLength(3);
  });
});
