import { packParams } from './buffers';

/**
 * A WGSL `Params` struct of u32 fields, named once: `fields` lists them in declaration order (a test compares it
 * with the shader's struct), `pack` writes values by name, so a field that moves cannot shift the others silently.
 */
export interface U32Params<Name extends string> {
  readonly fields: readonly Name[];
  /** The uniform's bytes, padded to 16. @throws {RangeError} naming a field that is missing or not a u32. */
  pack(values: Readonly<Record<Name, number>>): ArrayBuffer;
}

/** Declares a `Params` struct of u32 fields (see {@link U32Params}); `label` prefixes error messages. */
export function defineU32Params<Name extends string>(label: string, fields: readonly Name[]): U32Params<Name> {
  return {
    fields,
    pack(values) {
      return packParams(
        fields.map((name) => {
          const value = values[name];
          if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
            throw new RangeError(`${label}: params.${name} must be a u32 (got ${String(value)})`);
          }
          return ['u32', value] as const;
        }),
      );
    },
  };
}
