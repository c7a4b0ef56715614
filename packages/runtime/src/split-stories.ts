/** The separator between documents in the TinyStories text files. */
export const endOfTextMarker = '<|endoftext|>';

/**
 * Splits a corpus into documents the way the evaluation protocol does: on `<|endoftext|>`, each piece
 * trimmed of surrounding white space, empty pieces dropped.
 *
 * @returns The documents, in order.
 */
export function splitStories(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError(`splitStories: text must be a string (got ${typeof text})`);
  return text
    .split(endOfTextMarker)
    .map((story) => story.trim())
    .filter((story) => story.length > 0);
}
