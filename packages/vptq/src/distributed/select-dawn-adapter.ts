/** One adapter as dawn.node lists it when asked for an adapter it does not have. */
export interface DawnAdapterEntry {
  readonly backend: string;
  readonly name: string;
}

/**
 * The adapters in dawn.node's "Available adapters:" list (the message of a `requestAdapter` rejected for an
 * `adapter=` flag that matches none), in Dawn's enumeration order.
 */
export function parseDawnAdapterList(message: string): DawnAdapterEntry[] {
  const entries: DawnAdapterEntry[] = [];
  for (const match of message.matchAll(/^\s*\* backend: '([^']*)', name: '(.*)'\s*$/gm)) entries.push({ backend: match[1], name: match[2] });
  return entries;
}

/**
 * The `adapter=` flag that makes dawn.node pick adapter `index` of `adapters`: dawn.node takes the first adapter
 * whose name contains the flag's text, so the index can be reached only when no earlier adapter's name contains
 * that adapter's name (never the case for the second of two identical GPUs).
 *
 * @throws {RangeError} naming the index and the adapters when it is out of range or cannot be told apart.
 */
export function adapterFlagFor(index: number, adapters: readonly DawnAdapterEntry[]): string {
  const listed = adapters.map((adapter, at) => `${at}: ${adapter.name} (${adapter.backend})`).join('; ');
  if (!Number.isSafeInteger(index) || index < 0 || index >= adapters.length) {
    throw new RangeError(`gpu:${index}: Dawn lists ${adapters.length} adapters (${listed || 'none'})`);
  }
  const name = adapters[index].name;
  const first = adapters.findIndex((adapter) => adapter.name.includes(name));
  if (first !== index) {
    throw new RangeError(
      `gpu:${index}: adapter ${index} is named "${name}" like adapter ${first}, and dawn.node selects adapters by name only (adapters: ${listed}). ` +
        'Give each worker a process that sees only its GPU instead (a container started with NVIDIA_VISIBLE_DEVICES=N, or on Mesa drivers MESA_VK_DEVICE_SELECT=VENDOR:DEVICE!), and use --device gpu',
    );
  }
  return `adapter=${name}`;
}
