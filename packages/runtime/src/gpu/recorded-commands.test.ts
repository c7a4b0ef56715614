import { describe, expect, it } from 'vitest';

import type { Segment } from './forward-program';
import { recordCommands } from './recorded-commands';

/** A dispatch that records `setPipeline(pipeline)`, `setBindGroup(0, group)`, `dispatchWorkgroups(x)`. */
function step(label: string, pipeline: object, group: object, x: number, linear = false): Segment {
  return {
    kind: 'dispatch',
    linear,
    dispatch: {
      label,
      encode(pass) {
        pass.setPipeline(pipeline as GPUComputePipeline);
        pass.setBindGroup(0, group as GPUBindGroup);
        pass.dispatchWorkgroups(x);
      },
      destroy() {},
    },
  };
}

/** A command encoder and passes that log every call as a string. */
function loggingEncoder(log: string[]): GPUCommandEncoder {
  const name = (value: unknown): string => (value as { name: string }).name;
  const pass = {
    setPipeline: (pipeline: unknown) => log.push(`pipeline ${name(pipeline)}`),
    setBindGroup: (index: number, group: unknown) => log.push(`group ${index} ${name(group)}`),
    dispatchWorkgroups: (x: number, y: number, z: number) => log.push(`dispatch ${x} ${y} ${z}`),
    end: () => log.push('end'),
  };
  return {
    beginComputePass: (descriptor: GPUComputePassDescriptor) => (log.push(`begin ${descriptor.label}`), pass),
    copyBufferToBuffer: () => log.push('copy'),
  } as unknown as GPUCommandEncoder;
}

describe('recordCommands', () => {
  const a = { name: 'A' };
  const b = { name: 'B' };
  const g1 = { name: 'g1' };
  const g2 = { name: 'g2' };
  const copy: Segment = { kind: 'copy', source: {} as GPUBuffer, sourceOffset: 0, target: {} as GPUBuffer, size: 4 };

  it('replays the dispatches, setting a pipeline or bind group only when it changes, and ends passes at copies', () => {
    const segments = [step('one', a, g1, 1), step('two', a, g1, 2), step('three', a, g2, 3), step('four', b, g2, 4), copy, step('five', b, g2, 5)];
    const commands = recordCommands(segments, () => true);
    expect(commands.dispatchCount).toBe(5);
    const log: string[] = [];
    commands.encode(loggingEncoder(log), { label: 'pass' });
    expect(log).toEqual([
      'begin pass',
      'pipeline A',
      'group 0 g1',
      'dispatch 1 1 1',
      'dispatch 2 1 1',
      'group 0 g2',
      'dispatch 3 1 1',
      'pipeline B',
      'dispatch 4 1 1',
      'end',
      'copy',
      // A new pass starts with nothing bound.
      'begin pass',
      'pipeline B',
      'group 0 g2',
      'dispatch 5 1 1',
      'end',
    ]);
  });

  it('keeps only the dispatches the filter accepts, and every copy', () => {
    const segments = [step('one', a, g1, 1, true), copy, step('two', b, g2, 2)];
    const log: string[] = [];
    recordCommands(segments, (segment) => segment.linear).encode(loggingEncoder(log), { label: 'linear' });
    expect(log).toEqual(['begin linear', 'pipeline A', 'group 0 g1', 'dispatch 1 1 1', 'end', 'copy']);
  });

  it('refuses a dispatch that records a call it cannot replay', () => {
    const indirect: Segment = {
      kind: 'dispatch',
      linear: false,
      dispatch: { label: 'indirect', encode: (pass) => pass.dispatchWorkgroupsIndirect({} as GPUBuffer, 0), destroy() {} },
    };
    expect(() => recordCommands([indirect], () => true)).toThrow('recordCommands: indirect records dispatchWorkgroupsIndirect, which cannot be replayed');
  });
});
