/**
 * Test helper: the `[name, type]` fields of the WGSL `struct Params { … }` in `code`, in declaration order, with
 * comments dropped and types spelled with single spaces, to hold a kernel's `Params` declaration on the host side to
 * its shader.
 */
export function wgslParamsFields(code: string): [string, string][] {
  const body = /struct Params \{([^}]*)\}/.exec(code)?.[1];
  if (body === undefined) throw new Error('no struct Params');
  return body
    .replace(/\/\/.*$/gm, '')
    .split(/,\s*(?![^<]*>)/)
    .map((field) => field.trim())
    .filter((field) => field !== '')
    .map((field) => {
      const [name, type] = field.split(/:\s*/);
      return [name, type.replace(/\s+/g, ' ')];
    });
}
