import { describe, expect, it } from 'vitest';

import { splitStories } from './split-stories';

describe('splitStories', () => {
  it('splits on <|endoftext|>, trims and drops empty pieces', () => {
    expect(splitStories('  One day.\n<|endoftext|>\nTwo\n\nlines.\n<|endoftext|>\n \n<|endoftext|>\n')).toEqual([
      'One day.',
      'Two\n\nlines.',
    ]);
    expect(splitStories('no marker ')).toEqual(['no marker']);
    expect(splitStories('<|endoftext|>')).toEqual([]);
  });

  it('rejects a non-string', () => {
    expect(() => splitStories(3 as never)).toThrow(/text must be a string \(got number\)/);
  });
});
