/**
 * A binary max-heap of candidate merges ordered as llama2.c's linear scan would pick them: highest score
 * first, and on equal scores the leftmost pair (smallest left position) first.
 */
export class PairQueue {
  private scores: number[] = [];
  private lefts: number[] = [];
  private rights: number[] = [];
  private ids: number[] = [];
  private leftVersions: number[] = [];
  private rightVersions: number[] = [];
  private heap: number[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(score: number, left: number, right: number, id: number, leftVersion: number, rightVersion: number): void {
    const entry = this.scores.length;
    this.scores.push(score);
    this.lefts.push(left);
    this.rights.push(right);
    this.ids.push(id);
    this.leftVersions.push(leftVersion);
    this.rightVersions.push(rightVersion);
    const heap = this.heap;
    let position = heap.length;
    heap.push(entry);
    while (position > 0) {
      const parent = (position - 1) >> 1;
      if (!this.before(entry, heap[parent])) break;
      heap[position] = heap[parent];
      position = parent;
    }
    heap[position] = entry;
  }

  /** Removes the best entry and returns its index, for {@link left} and friends; -1 when empty. */
  pop(): number {
    const heap = this.heap;
    if (heap.length === 0) return -1;
    const top = heap[0];
    const last = heap.pop() as number;
    if (heap.length > 0) {
      let position = 0;
      for (;;) {
        let child = 2 * position + 1;
        if (child >= heap.length) break;
        if (child + 1 < heap.length && this.before(heap[child + 1], heap[child])) child++;
        if (!this.before(heap[child], last)) break;
        heap[position] = heap[child];
        position = child;
      }
      heap[position] = last;
    }
    return top;
  }

  left(entry: number): number {
    return this.lefts[entry];
  }

  right(entry: number): number {
    return this.rights[entry];
  }

  id(entry: number): number {
    return this.ids[entry];
  }

  leftVersion(entry: number): number {
    return this.leftVersions[entry];
  }

  rightVersion(entry: number): number {
    return this.rightVersions[entry];
  }

  private before(a: number, b: number): boolean {
    const scoreA = this.scores[a];
    const scoreB = this.scores[b];
    return scoreA > scoreB || (scoreA === scoreB && this.lefts[a] < this.lefts[b]);
  }
}
