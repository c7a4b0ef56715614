import type { LinearInput } from '@vptq/loader';

/**
 * `items` (one layer's projections, in `decoderLinears` order) split into the groups that read the same input,
 * in order of first appearance: `[q, k, v]`, `[o]`, `[gate, up]`, `[down]` for a Llama layer.
 */
export function groupByInput<T extends { readonly input: LinearInput }>(items: readonly T[]): T[][] {
  const groups = new Map<LinearInput, T[]>();
  for (const item of items) {
    const group = groups.get(item.input);
    if (group) group.push(item);
    else groups.set(item.input, [item]);
  }
  return [...groups.values()];
}
