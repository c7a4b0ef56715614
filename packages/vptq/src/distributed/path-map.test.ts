import { describe, expect, it } from 'vitest';

import { mapPath, parsePathMap } from './path-map';

describe('path maps', () => {
  const map = parsePathMap(['/mnt/shared/=/data/shared', '/models=/scratch/models']);

  it('replaces whole leading path components only', () => {
    expect(mapPath(map, '/mnt/shared/out.partial')).toBe('/data/shared/out.partial');
    expect(mapPath(map, '/mnt/shared')).toBe('/data/shared');
    expect(mapPath(map, '/mnt/shared-other/x')).toBe('/mnt/shared-other/x');
    expect(mapPath(map, '/models/llama')).toBe('/scratch/models/llama');
    expect(mapPath([], '/models/llama')).toBe('/models/llama');
  });

  it('refuses values that are not two absolute paths', () => {
    expect(() => parsePathMap(['/a'])).toThrow('--path-map /a: expected COORDINATOR_PATH=LOCAL_PATH, two absolute paths');
    expect(() => parsePathMap(['a=/b'])).toThrow(/--path-map a=\/b: expected/);
  });
});
