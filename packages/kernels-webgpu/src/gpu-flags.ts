/**
 * `GPUBufferUsage` bit values from the WebGPU specification, held here so that the package never reads the
 * `GPUBufferUsage` global: Node (Dawn) only defines it after `Object.assign(globalThis, globals)`.
 */
export const bufferUsage = {
  mapRead: 0x0001,
  mapWrite: 0x0002,
  copySrc: 0x0004,
  copyDst: 0x0008,
  index: 0x0010,
  vertex: 0x0020,
  uniform: 0x0040,
  storage: 0x0080,
  indirect: 0x0100,
  queryResolve: 0x0200,
} as const;

/** `GPUMapMode` bit values from the WebGPU specification (see {@link bufferUsage} for why). */
export const mapMode = {
  read: 0x0001,
  write: 0x0002,
} as const;
