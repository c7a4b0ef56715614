#!/usr/bin/env node
// Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time and the most total time
// (self plus callees, each sample counted once per function however deep the recursion), so that a profile taken on
// the device machine comes back as a small table. Usage: node benchmarks/summarize-cpu-profile.mjs FILE [TOP=40]
import { readFileSync } from 'node:fs';

const [file, topArgument] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: summarize-cpu-profile.mjs FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const top = Number(topArgument ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const name = (node) => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`;
};
// Sample durations: timeDeltas[i] is the time before sample i.
const self = new Map();
const total = new Map();
const deltas = profile.timeDeltas;
let sampled = 0;
profile.samples.forEach((id, index) => {
  const ms = (deltas[index + 1] ?? deltas[index] ?? 0) / 1000;
  sampled += ms;
  const leaf = nodes.get(id);
  self.set(name(leaf), (self.get(name(leaf)) ?? 0) + ms);
  const seen = new Set();
  for (let current = id; current !== undefined; current = parent.get(current)) {
    const key = name(nodes.get(current));
    if (seen.has(key)) continue;
    seen.add(key);
    total.set(key, (total.get(key) ?? 0) + ms);
  }
});
const print = (title, map) => {
  process.stdout.write(`\n${title} (ms of ${sampled.toFixed(0)} sampled)\n`);
  for (const [key, ms] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${ms.toFixed(0).padStart(9)}  ${key}\n`);
};
print('self time', self);
print('total time', total);
