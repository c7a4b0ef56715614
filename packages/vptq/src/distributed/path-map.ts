/** A rewrite of path prefixes: how a worker's machine mounts the coordinator's storage. */
export type PathMap = readonly { readonly from: string; readonly to: string }[];

/**
 * Parses `--path-map` values, each `COORDINATOR_PREFIX=LOCAL_PREFIX` with absolute paths.
 *
 * @throws {RangeError} naming the value and the form expected.
 */
export function parsePathMap(values: readonly string[]): PathMap {
  return values.map((value) => {
    const at = value.indexOf('=');
    const from = value.slice(0, at).replace(/\/+$/, '');
    const to = value.slice(at + 1).replace(/\/+$/, '');
    if (at < 0 || !from.startsWith('/') || !to.startsWith('/')) {
      throw new RangeError(`--path-map ${value}: expected COORDINATOR_PATH=LOCAL_PATH, two absolute paths`);
    }
    return { from, to };
  });
}

/** `path` with the first matching prefix of `map` replaced (whole path components only), or unchanged. */
export function mapPath(map: PathMap, path: string): string {
  for (const { from, to } of map) {
    if (path === from) return to;
    if (path.startsWith(`${from}/`)) return to + path.slice(from.length);
  }
  return path;
}
