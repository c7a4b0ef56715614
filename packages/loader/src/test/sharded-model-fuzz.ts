import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The mutations of a safetensors shard that {@link mutateShard} applies. */
export type ShardMutation = 'truncate' | 'extend' | 'flip-header' | 'flip-data' | 'header-length';

/**
 * Test helper for the fuzz tests of two-shard model directories: the first shard, config.json and the
 * index as written, read once, so each case can write a mutated copy and the test can restore them.
 */
export class ShardedModelFiles {
  readonly shardPath: string;
  readonly configPath: string;
  readonly indexPath: string;
  readonly shard: Buffer;
  readonly config: string;
  readonly index: string;
  /** Byte where the shard's tensor data starts (after the 8-byte length and the JSON header). */
  readonly headerEnd: number;

  constructor(dir: string) {
    this.shardPath = join(dir, 'model-00001-of-00002.safetensors');
    this.configPath = join(dir, 'config.json');
    this.indexPath = join(dir, 'model.safetensors.index.json');
    this.shard = readFileSync(this.shardPath);
    this.config = readFileSync(this.configPath, 'utf8');
    this.index = readFileSync(this.indexPath, 'utf8');
    this.headerEnd = 8 + this.shard.readUInt32LE(0);
  }

  write(shard: Buffer, config: string, index: string): void {
    writeFileSync(this.shardPath, shard);
    writeFileSync(this.configPath, config);
    writeFileSync(this.indexPath, index);
  }

  restore(): void {
    this.write(this.shard, this.config, this.index);
  }
}

/**
 * A mutated copy of the shard for the shard-level `mutation` kinds (undefined for others), drawing from `next`:
 * truncation, appended zeros, bit flips in the JSON header or the data (half the time also writing the
 * ±Inf/NaN pattern `nonFinite` of the shard's 16-bit float dtype, which random flips seldom produce), and a
 * wrong header length.
 */
export function mutateShard(files: ShardedModelFiles, mutation: string, next: () => number, nonFinite: number): Buffer | undefined {
  const pick = (count: number): number => Math.floor(next() * count);
  const { shard, headerEnd } = files;
  const bytes = Buffer.from(shard);
  switch (mutation) {
    case 'truncate':
      return shard.subarray(0, pick(shard.length));
    case 'extend':
      return Buffer.concat([shard, Buffer.alloc(1 + pick(9))]);
    case 'flip-header':
      // Inside the JSON: digits, quotes and braces turn into other characters or invalid UTF-8.
      for (let flips = 1 + pick(2); flips > 0; flips--) bytes[8 + pick(headerEnd - 8)] ^= 1 << pick(8);
      return bytes;
    case 'flip-data':
      for (let flips = 1 + pick(4); flips > 0; flips--) bytes[headerEnd + pick(shard.length - headerEnd)] ^= 1 << pick(8);
      if (next() < 0.5) bytes.writeUInt16LE(nonFinite | pick(2) * 0x8000 | pick(2), headerEnd + 2 * pick((shard.length - headerEnd) / 2));
      return bytes;
    case 'header-length':
      bytes.writeUInt32LE([0, 1, 2, headerEnd - 9, headerEnd, 0xffffffff][pick(6)], 0);
      bytes.writeUInt32LE(pick(2), 4);
      return bytes;
    default:
      return undefined;
  }
}
