/** Wall-clock seconds per phase of some work, from the phase changes it reports. */
export class PhaseClock {
  private readonly seconds = new Map<string, number>();
  private current: { phase: string; since: number } | undefined;
  private readonly started = performance.now();

  /** Ends the current phase (if another) and starts `phase`. */
  enter(phase: string): void {
    if (this.current?.phase === phase) return;
    this.close();
    this.current = { phase, since: performance.now() };
  }

  /** Ends the current phase; returns the seconds per phase (in first-entered order) and in total since creation. */
  stop(): { phases: Record<string, number>; total: number } {
    this.close();
    return { phases: Object.fromEntries(this.seconds), total: (performance.now() - this.started) / 1000 };
  }

  private close(): void {
    if (!this.current) return;
    const { phase, since } = this.current;
    this.seconds.set(phase, (this.seconds.get(phase) ?? 0) + (performance.now() - since) / 1000);
    this.current = undefined;
  }
}
