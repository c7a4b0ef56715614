import type { Llama2cVocab } from './parse-llama2c-vocab';

/** A Hugging Face `tokenizer.json` and `tokenizer_config.json` pair, as plain JSON values. */
export interface HfTokenizerFiles {
  readonly tokenizerJson: Record<string, unknown>;
  readonly tokenizerConfig: Record<string, unknown>;
  /**
   * True when no two different merges share a score, which makes the HF BPE provably identical to llama2.c's
   * encoder; otherwise they agree unless equal-score merges compete, and the llama2.c file should travel along.
   */
  readonly exact: boolean;
}

const metaspace = '\u2581';
const mergeFloor = Math.fround(-1e10);
const specialPieces = ['<unk>', '<s>', '</s>'];

/**
 * Translates a llama2.c vocabulary into a Llama-2-style BPE `tokenizer.json` (Prepend "▁" + Replace " "→"▁"
 * normalizer, no pre-tokenizer, byte fallback when the vocabulary has `<0xNN>` pieces) whose merges reproduce
 * llama2.c's score-driven merging: every split (a, b) of a piece p with a and b in the vocabulary becomes a
 * merge, ranked by p's score (highest first). llama2.c merges the best-scoring adjacent pair, leftmost on ties;
 * the HF BPE merges the lowest-ranked pair, leftmost on ties, so both agree except when two overlapping pairs
 * with equal scores compete, which sentencepiece-trained vocabularies (distinct merge scores) never produce.
 *
 * @returns the two files and whether equality is guaranteed, or a reason string when the vocabulary cannot be represented (duplicate pieces, a
 * piece already holding "▁", or the special names `<unk>`/`<s>`/`</s>` used by ordinary pieces).
 */
export function buildLlama2cTokenizerJson(vocab: Llama2cVocab): HfTokenizerFiles | string {
  const { pieces, scores } = vocab;
  const names = pieces.map((piece, id) => (id < 3 ? specialPieces[id] : piece.replaceAll(' ', metaspace)));
  const idOf = new Map<string, number>();
  for (let id = 0; id < names.length; id++) {
    if (id >= 3 && pieces[id].includes(metaspace)) return `piece ${id} already contains "${metaspace}"`;
    const previous = idOf.get(names[id]);
    if (previous !== undefined) return `pieces ${previous} and ${id} are both ${JSON.stringify(names[id])}`;
    idOf.set(names[id], id);
  }

  let byteFallback = true;
  for (let byte = 0; byte < 256 && byteFallback; byte++) {
    byteFallback = idOf.has(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
  }

  const merges: Array<{ left: string; right: string; score: number; id: number; split: number }> = [];
  for (let id = 3; id < names.length; id++) {
    if (!(scores[id] > mergeFloor)) continue;
    const characters = Array.from(names[id]);
    let left = '';
    for (let split = 1; split < characters.length; split++) {
      left += characters[split - 1];
      const right = characters.slice(split).join('');
      const leftId = idOf.get(left);
      const rightId = idOf.get(right);
      // BOS and EOS are "\n<s>\n" and "\n</s>\n" to llama2.c, so they can never be part of a merge.
      if (leftId !== undefined && rightId !== undefined && leftId > 2 && rightId > 2) {
        merges.push({ left, right, score: scores[id], id, split });
      }
    }
  }
  merges.sort((a, b) => b.score - a.score || a.id - b.id || a.split - b.split);
  const exact = merges.every((merge, index) => index === 0 || merge.score !== merges[index - 1].score);

  const vocabObject: Record<string, number> = {};
  names.forEach((name, id) => {
    vocabObject[name] = id;
  });
  const addedToken = (id: number) => ({
    id,
    content: specialPieces[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken(0), addedToken(1), addedToken(2)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: metaspace },
        { type: 'Replace', pattern: { String: ' ' }, content: metaspace },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: metaspace }, content: ' ' },
        ...(byteFallback ? [{ type: 'ByteFallback' }] : []),
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      // llama2.c emits one <unk> per unknown character.
      fuse_unk: false,
      byte_fallback: byteFallback,
      ignore_merges: false,
      vocab: vocabObject,
      merges: merges.map((merge) => [merge.left, merge.right]),
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'LlamaTokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    add_bos_token: true,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: 1_000_000_000_000_000,
    sp_model_kwargs: {},
  };
  return { tokenizerJson, tokenizerConfig, exact };
}
