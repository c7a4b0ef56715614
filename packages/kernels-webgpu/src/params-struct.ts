import { packParams } from './buffers';

/** The WGSL scalar types a {@link ParamsStruct} field can have (4 bytes each). */
export type ParamsFieldType = 'u32' | 'f32';

/**
 * A WGSL `Params` struct of u32 and f32 fields, named once: `fields` lists `[name, type]` in declaration order (a
 * test compares it with the shader's struct), `pack` writes values by name, so a field that moves cannot shift the
 * others silently.
 */
export interface ParamsStruct<Name extends string> {
  readonly fields: readonly (readonly [Name, ParamsFieldType])[];
  /**
   * The uniform's bytes, padded to 16.
   *
   * @throws {RangeError} naming a u32 field that is missing or not a u32, or an f32 field that is not finite.
   */
  pack(values: Readonly<Record<Name, number>>): ArrayBuffer;
}

/** Declares a `Params` struct (see {@link ParamsStruct}); `label` prefixes error messages. */
export function defineParams<Name extends string>(label: string, fields: readonly (readonly [Name, ParamsFieldType])[]): ParamsStruct<Name> {
  return {
    fields,
    pack(values) {
      return packParams(
        fields.map(([name, type]) => {
          const value = values[name];
          if (type === 'u32' && !(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) {
            throw new RangeError(`${label}: params.${name} must be a u32 (got ${String(value)})`);
          }
          if (type === 'f32' && !Number.isFinite(value)) throw new RangeError(`${label}: params.${name} must be a finite f32 (got ${String(value)})`);
          return [type, value] as const;
        }),
      );
    },
  };
}

/** `[name, 'u32']` for every name: the fields of a struct of u32s, for {@link defineParams}. */
export function u32Fields<Name extends string>(names: readonly Name[]): (readonly [Name, 'u32'])[] {
  return names.map((name) => [name, 'u32'] as const);
}
