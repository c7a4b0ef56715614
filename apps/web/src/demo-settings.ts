import type { QuantizeSettings } from 'vptq';

/** demo-settings.json: what the build made, what the page runs (the browser test reads the same file). */
export interface DemoSettings {
  readonly prompt: string;
  readonly maxTokens: number;
  readonly bundled: { readonly dir: string; readonly about: string; readonly settings: Partial<QuantizeSettings> };
  readonly source: { readonly dir: string; readonly about: string };
  readonly inTab: { readonly about: string; readonly settings: Partial<QuantizeSettings> };
  readonly calibrationText: { readonly file: string; readonly from: string; readonly bytes: number };
  readonly evalText: { readonly file: string; readonly from: string; readonly stories: number };
}

/** What the worker tells the page. */
export type WorkerMessage =
  | { readonly type: 'backend'; readonly description: string; readonly reason: string }
  | { readonly type: 'event'; readonly event: import('vptq').QuantizeEvent }
  | { readonly type: 'perplexity'; readonly which: 'before' | 'after'; readonly perplexity: number; readonly tokens: number; readonly stories: number }
  | {
      readonly type: 'done';
      readonly files: [string, Uint8Array][];
      readonly device: 'cpu' | 'gpu';
      readonly deviceDescription: string;
      readonly seconds: number;
      readonly indexBitsPerWeight: number;
      readonly totalBitsPerWeight: number;
      readonly calibrationTokens: number;
    }
  | { readonly type: 'error'; readonly message: string };

/** What the page asks the worker: the settings, and where to quantize (`auto`: WebGPU when the tab has an adapter). */
export interface WorkerRequest {
  readonly settings: DemoSettings;
  readonly device: 'auto' | 'cpu' | 'gpu';
}

/** Settings as one line for the page. */
export function describeSettings(settings: Partial<QuantizeSettings>): string {
  return Object.entries(settings)
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
}
