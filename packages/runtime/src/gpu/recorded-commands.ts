import type { Segment } from './forward-program';

/** A program's dispatches and copies as a flat list, encoded into a command encoder as often as needed. */
export interface RecordedCommands {
  /** Compute dispatches in the list. */
  readonly dispatchCount: number;
  /**
   * Encodes the list into `encoder`: one compute pass per run of dispatches (a copy ends a pass), with
   * `pass.timestampWrites` on each pass opened.
   */
  encode(encoder: GPUCommandEncoder, pass: { readonly label: string; readonly timestampWrites?: GPUComputePassTimestampWrites }): void;
}

type Command =
  | {
      readonly kind: 'dispatch';
      readonly pipeline: GPUComputePipeline;
      readonly bindGroups: readonly (readonly [number, GPUBindGroup])[];
      readonly workgroups: readonly [number, number, number];
    }
  | { readonly kind: 'copy'; readonly source: GPUBuffer; readonly sourceOffset: number; readonly target: GPUBuffer; readonly size: number };

/**
 * Captures what the dispatches of `segments` that `include` accepts record (their pipelines, bind groups and
 * grids; copies always), once, so that a decode step replays a flat array instead of walking the dispatch
 * objects, and skips `setPipeline`/`setBindGroup` calls that would set what is already set. Every call into Dawn
 * costs a crossing into native code (about 2 µs each on the H100 host: 1.3 ms for 228 dispatches per token),
 * so the step records only what changes between dispatches.
 *
 * A dispatch must record only `setPipeline`, `setBindGroup` without dynamic offsets and `dispatchWorkgroups`,
 * and record the same each time (true of every `ComputeStep`); anything else throws here, at build time.
 *
 * @throws {Error} when a dispatch records another call.
 */
export function recordCommands(segments: readonly Segment[], include: (segment: Extract<Segment, { kind: 'dispatch' }>) => boolean): RecordedCommands {
  const commands: Command[] = [];
  let dispatchCount = 0;
  for (const segment of segments) {
    if (segment.kind === 'copy') {
      commands.push(segment);
      continue;
    }
    if (!include(segment)) continue;
    let pipeline: GPUComputePipeline | undefined;
    let bindGroups: (readonly [number, GPUBindGroup])[] = [];
    const label = segment.dispatch.label;
    const capture = {
      setPipeline(next: GPUComputePipeline) {
        pipeline = next;
      },
      setBindGroup(index: number, group: GPUBindGroup | null, offsets?: Iterable<number>) {
        if (!group || (offsets !== undefined && [...offsets].length > 0)) throw new Error(`recordCommands: ${label} sets a bind group that cannot be replayed (null or with dynamic offsets)`);
        bindGroups = [...bindGroups.filter(([bound]) => bound !== index), [index, group]];
      },
      dispatchWorkgroups(x: number, y = 1, z = 1) {
        if (!pipeline) throw new Error(`recordCommands: ${label} dispatches without a pipeline`);
        commands.push({ kind: 'dispatch', pipeline, bindGroups, workgroups: [x, y, z] });
        dispatchCount++;
      },
    };
    const pass = new Proxy(capture, {
      get(target, property, receiver) {
        if (property in target) return Reflect.get(target, property, receiver);
        throw new Error(`recordCommands: ${label} records ${String(property)}, which cannot be replayed`);
      },
    }) as unknown as GPUComputePassEncoder;
    segment.dispatch.encode(pass);
  }
  return {
    dispatchCount,
    encode(encoder, options) {
      let pass: GPUComputePassEncoder | undefined;
      let pipeline: GPUComputePipeline | undefined;
      const bound: (GPUBindGroup | undefined)[] = [];
      for (const command of commands) {
        if (command.kind === 'copy') {
          pass?.end();
          pass = undefined;
          encoder.copyBufferToBuffer(command.source, command.sourceOffset, command.target, 0, command.size);
          continue;
        }
        if (!pass) {
          pass = encoder.beginComputePass({ label: options.label, timestampWrites: options.timestampWrites });
          pipeline = undefined;
          bound.length = 0;
        }
        if (command.pipeline !== pipeline) {
          pass.setPipeline(command.pipeline);
          pipeline = command.pipeline;
        }
        for (const [index, group] of command.bindGroups) {
          if (bound[index] === group) continue;
          pass.setBindGroup(index, group);
          bound[index] = group;
        }
        pass.dispatchWorkgroups(command.workgroups[0], command.workgroups[1], command.workgroups[2]);
      }
      pass?.end();
    },
  };
}
