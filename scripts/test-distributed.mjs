#!/usr/bin/env node
// `pnpm test:distributed`: `vptq quantize --queue` with `vptq worker` processes on a local Redis, on the CPU, against
// a single-process `vptq quantize` of the bundled stories260K with the same settings. Installs Debian's
// `redis-server` when missing (apt-get), builds vptq (turbo, `--filter=vptq...`), starts Redis on a free port with no
// persistence in a temporary directory, and checks:
//   1. three workers, one SIGKILLed right after it started a job: its job is taken again by another worker (the job
//      was started twice), and model.safetensors, config.json and the tokenizer files equal the single-process bytes
//      (the quantization report too, but for its wall-clock times);
//   2. the coordinator SIGKILLed once some projections are done and started again: it finishes, from the queue and
//      the job directory, with the same bytes;
//   3. the same with `--advance quantized` (the coordinator waits for each layer's jobs before it advances);
//   4. where ../shared/gpu/lavapipe.sh sets up software Vulkan: two `--device gpu:0` workers against a single-process
//      `--device gpu` run (GPU jobs run in the worker's main thread on its Dawn device);
//   5. clear errors, each within a bounded time: a queue URL that is not redis://HOST:PORT, no Redis at the URL
//      (coordinator and worker), and a worker that sees other model bytes than the coordinator (a Hugging Face copy
//      of the model with one weight changed, mounted through --path-map): the run fails naming both fingerprints,
//      and the job is not retried;
//   6. Redis killed mid-run: coordinator and worker (--reconnect-timeout 2000) end with an error naming the URL.
// Prints one line per check and ends with "N passed, N failed"; exits 1 when a check fails. --keep keeps the
// temporary directory (its path is printed).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages/vptq/dist/cli.js');
const example = join(root, 'examples/stories260K');
const keep = process.argv.includes('--keep');
const started = Date.now();
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (line) => console.log(`test:distributed: ${line}`);
const results = [];
const check = (name, ok, detail) => {
  results.push(ok);
  log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
};
const finish = () => {
  const passed = results.filter(Boolean).length;
  log(`done in ${seconds(Date.now() - started)}`);
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(results.length - passed === 0 && results.length > 0 ? 0 : 1);
};

// ---- redis-server and the build
if (spawnSync('redis-server', ['--version']).status !== 0) {
  log('redis-server missing; installing it from Debian (apt-get install -y redis-server)');
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'redis-server'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (install().status !== 0) {
      check('redis-server installed', false, 'apt-get install -y redis-server failed');
      finish();
    }
  }
}
const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=vptq...', '--output-logs=errors-only'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
if (build.status !== 0) {
  check('vptq builds', false, `turbo exited with ${build.status}`);
  finish();
}

const work = mkdtempSync(join(tmpdir(), 'vptq-distributed-'));
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  if (!keep) rmSync(work, { recursive: true, force: true });
});
if (keep) log(`working in ${work}`);

/** A TCP port nothing listens on right now. */
function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Starts `node cli.js …args`; collects its output; `waitFor(regex)` resolves with the first matching line. */
function start(name, args, env = process.env) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  let output = '';
  const watchers = [];
  const onData = (chunk) => {
    output += chunk;
    for (const watcher of [...watchers]) {
      const match = watcher.regex.exec(output);
      if (match) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.done(match);
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise((done) => child.on('exit', (code, signal) => {
    children.delete(child);
    done({ code, signal });
  }));
  return {
    name,
    child,
    exited,
    output: () => output,
    waitFor: (regex, ms = 60_000) =>
      new Promise((done, fail) => {
        const match = regex.exec(output);
        if (match) return done(match);
        const timer = setTimeout(() => fail(new Error(`${name}: no line matching ${regex} within ${ms} ms; output:\n${output}`)), ms);
        watchers.push({ regex, done: (found) => (clearTimeout(timer), done(found)) });
      }),
  };
}

/** Runs the CLI to its end (at most `ms`): `{ code, output, ms }`. */
async function run(name, args, ms = 300_000, env = process.env) {
  const begun = Date.now();
  const process_ = start(name, args, env);
  const timer = setTimeout(() => process_.child.kill('SIGKILL'), ms);
  const { code, signal } = await process_.exited;
  clearTimeout(timer);
  return { code: signal ? `killed (${signal})` : code, output: process_.output(), ms: Date.now() - begun };
}

/** The output directory's files, with the report's timing left out (it holds wall-clock seconds). */
function readTree(dir) {
  const files = {};
  for (const name of readdirSync(dir).sort()) {
    let bytes = readFileSync(join(dir, name));
    if (name === 'quantization-report.json') {
      const { timing: _timing, ...report } = JSON.parse(bytes.toString('utf8'));
      bytes = Buffer.from(JSON.stringify(report));
    }
    files[name] = bytes;
  }
  return files;
}

/** '' when `dir` has the same files and bytes as the single-process output, else what differs. */
function differences(dir, reference) {
  if (!existsSync(dir)) return `${dir} was not written`;
  const tree = readTree(dir);
  const names = new Set([...Object.keys(tree), ...Object.keys(reference)]);
  return [...names].filter((name) => !tree[name] || !reference[name] || !tree[name].equals(reference[name])).join(', ');
}

function redisCli(...args) {
  return spawnSync('redis-cli', ['-p', String(redisPort), ...args], { encoding: 'utf8' }).stdout.trim();
}

// Small but real settings (v8-k256-r256, the defaults; fewer calibration tokens and k-means rounds): each of the 35
// projections takes a fraction of a second to a second or so on one core.
const settings = ['--calib', join(example, 'calibration.txt'), '--calib-tokens', '4000', '--kmeans-iterations', '8', '--refine-iterations', '2', '--device', 'cpu', '--seed', '7'];
const llama2c = ['-m', join(example, 'stories260K.bin'), ...settings];
// A killed worker's job is retried once its 2 s lock expired and a stalled check (every 0.5 s) ran.
const workerFlags = ['--lock-duration', '2000', '--stalled-interval', '500'];

// ---- Redis, no persistence, in the temporary directory
const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: 'ignore' });
children.add(redis);
const queue = `redis://127.0.0.1:${redisPort}`;
for (let tries = 0; redisCli('ping') !== 'PONG'; tries++) {
  if (tries > 100) {
    check('redis-server starts', false, `no PONG on port ${redisPort} within 5 s`);
    finish();
  }
  await new Promise((done) => setTimeout(done, 50));
}
log(`redis-server on port ${redisPort}`);

try {
  // ---- the single-process reference
  const single = await run('single', ['quantize', '-o', 'single', ...llama2c]);
  check('single-process quantize', single.code === 0, `${seconds(single.ms)}${single.code === 0 ? '' : `, exit ${single.code}\n${single.output}`}`);
  if (single.code !== 0) finish();
  const reference = readTree(join(work, 'single'));

  // ---- 1. three workers, one killed mid-job
  {
    const workers = [1, 2, 3].map((n) => start(`worker ${n}`, ['worker', '--queue', queue, ...workerFlags]));
    await Promise.all(workers.map((worker) => worker.waitFor(/taking jobs from/)));
    const begun = Date.now();
    const coordinator = start('coordinator', ['quantize', '-o', 'distributed', ...llama2c, '--queue', queue]);
    // SIGKILL worker 1 as soon as it starts its second job (mid-job: a job takes 0.2 s or more).
    const [, victim, layer, projection] = await workers[0].waitFor(/job (\S+): layer (\d+) (\S+) started[\s\S]*job (?:\S+): layer \d+ \S+ started/).then(async () => {
      const lines = [...workers[0].output().matchAll(/job (\S+): layer (\d+) (\S+) started/g)];
      return lines.at(-1);
    });
    const resultFile = join(work, 'distributed.partial/distributed', `projection-${layer.padStart(4, '0')}-${projection}.safetensors`);
    workers[0].child.kill('SIGKILL');
    const midJob = !existsSync(resultFile);
    const { code } = await coordinator.exited;
    const ms = Date.now() - begun;
    const attemptsStarted = Number(redisCli('HGET', `bull:vptq-projections-cpu:${victim}`, 'ats'));
    const retriedBy = workers.slice(1).find((worker) => worker.output().includes(`job ${victim}: done`));
    for (const worker of workers.slice(1)) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));
    check('coordinator + 3 workers finish', code === 0, `${seconds(ms)}${code === 0 ? '' : `, exit ${code}\n${coordinator.output()}`}`);
    check('the killed worker was mid-job', midJob, `job ${victim} (layer ${layer} ${projection}) had no result when worker 1 was killed`);
    check("the killed worker's job was retried by another worker", attemptsStarted >= 2 && retriedBy !== undefined, `started ${attemptsStarted} times, finished by ${retriedBy?.name ?? 'nobody'}`);
    const diff = code === 0 ? differences(join(work, 'distributed'), reference) : 'no output';
    check('distributed output = single-process bytes', diff === '', diff || Object.keys(reference).join(', '));
    const stopped = workers.slice(1).every((worker) => /stopped: \d+ jobs done/.test(worker.output()));
    check('workers stop on SIGTERM', stopped);
  }
  redisCli('FLUSHALL');

  // ---- 2. the coordinator killed and started again
  {
    const workers = [1, 2].map((n) => start(`worker ${n}`, ['worker', '--queue', queue, ...workerFlags]));
    await Promise.all(workers.map((worker) => worker.waitFor(/taking jobs from/)));
    const begun = Date.now();
    const first = start('coordinator', ['quantize', '-o', 'restarted', ...llama2c, '--queue', queue]);
    // Killed once two projections are done (some jobs finished, more queued, Hessians on disk).
    await workers[0].waitFor(/done in[\s\S]*done in/, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const partial = join(work, 'restarted.partial/distributed');
    const left = existsSync(partial) ? readdirSync(partial).filter((name) => name.startsWith('projection-')).length : 0;
    const second = await run('coordinator again', ['quantize', '-o', 'restarted', ...llama2c, '--queue', queue]);
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));
    const resumed = /resuming the unfinished run/.test(second.output);
    check('restarted coordinator finishes', second.code === 0 && resumed, `${seconds(Date.now() - begun)}, ${left} projection results were on disk when it was killed${second.code === 0 ? '' : `, exit ${second.code}\n${second.output}`}`);
    const diff = second.code === 0 ? differences(join(work, 'restarted'), reference) : 'no output';
    check('restarted output = single-process bytes', diff === '', diff || 'identical');
  }
  redisCli('FLUSHALL');

  // ---- 3. --advance quantized: layer i+1 needs layer i's quantized result, a wave of 7 jobs per layer
  {
    const singleQuantized = await run('single, advance quantized', ['quantize', '-o', 'single-quantized', ...llama2c, '--advance', 'quantized']);
    const workers = [1, 2].map((n) => start(`worker ${n}`, ['worker', '--queue', queue, ...workerFlags]));
    await Promise.all(workers.map((worker) => worker.waitFor(/taking jobs from/)));
    const waves = await run('coordinator, advance quantized', ['quantize', '-o', 'distributed-quantized', ...llama2c, '--advance', 'quantized', '--queue', queue]);
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));
    const ok = singleQuantized.code === 0 && waves.code === 0;
    const diff = ok ? differences(join(work, 'distributed-quantized'), readTree(join(work, 'single-quantized'))) : 'no output';
    check('--advance quantized: distributed output = single-process bytes', ok && diff === '', `${seconds(singleQuantized.ms)} single, ${seconds(waves.ms)} distributed${ok ? '' : `\n${singleQuantized.output}\n${waves.output}`}${diff ? `; differs: ${diff}` : ''}`);
  }
  redisCli('FLUSHALL');

  // ---- 4. the GPU path (in-process jobs on one Dawn device per worker) on software Vulkan, where it can be set up
  {
    const lavapipe = join(process.env.VPTQ_SHARED ?? join(root, '../shared'), 'gpu/lavapipe.sh');
    const setup = existsSync(lavapipe) ? spawnSync('bash', ['-c', `eval "$(bash ${JSON.stringify(lavapipe)} 2>/dev/null)" && env -0`], { encoding: 'utf8' }) : undefined;
    if (!setup || setup.status !== 0) {
      log(`SKIP the GPU path: no software Vulkan (${lavapipe}${setup ? ' failed' : ' missing'})`);
    } else {
      const env = Object.fromEntries(setup.stdout.split('\0').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      const gpuSettings = ['-m', join(example, 'stories260K.bin'), '--calib', join(example, 'calibration.txt'), '--calib-tokens', '2048', '--kmeans-iterations', '4', '--refine-iterations', '1', '--vector-len', '4', '--centroids', '64', '--res-centroids', '0', '--device', 'gpu'];
      const singleGpu = await run('single, gpu', ['quantize', '-o', 'single-gpu', ...gpuSettings], 300_000, env);
      const workers = [1, 2].map((n) => start(`gpu worker ${n}`, ['worker', '--queue', queue, '--device', 'gpu:0', ...workerFlags], env));
      await Promise.all(workers.map((worker) => worker.waitFor(/taking jobs from vptq-projections-gpu/)));
      const distributedGpu = await run('coordinator, gpu', ['quantize', '-o', 'distributed-gpu', ...gpuSettings, '--queue', queue], 300_000, env);
      for (const worker of workers) worker.child.kill('SIGTERM');
      await Promise.all(workers.map((worker) => worker.exited));
      const ok = singleGpu.code === 0 && distributedGpu.code === 0;
      const diff = ok ? differences(join(work, 'distributed-gpu'), readTree(join(work, 'single-gpu'))) : 'no output';
      const adapter = /on (GPU [^,]*)/.exec(workers[0].output())?.[1] ?? 'no adapter line';
      check('GPU workers (gpu:0, software Vulkan): output = single-process GPU bytes', ok && diff === '', `${adapter}; ${seconds(singleGpu.ms)} single, ${seconds(distributedGpu.ms)} distributed${ok ? '' : `\n${singleGpu.output}\n${distributedGpu.output}`}${diff ? `; differs: ${diff}` : ''}`);
    }
  }
  redisCli('FLUSHALL');

  // ---- 5. clear errors
  {
    const bad = await run('bad url', ['quantize', '-o', 'bad-url', ...llama2c, '--queue', 'http://127.0.0.1:6379'], 30_000);
    check('bad queue URL: clear error', bad.code === 1 && /--queue http:\/\/127\.0\.0\.1:6379: unsupported scheme http:; expected redis:\/\/HOST:PORT/.test(bad.output), `${seconds(bad.ms)}: ${bad.output.trim().split('\n').at(-1)}`);
    const noPort = await run('no port', ['worker', '--queue', 'redis://127.0.0.1'], 30_000);
    check('queue URL without a port: clear error', noPort.code === 1 && /--queue redis:\/\/127\.0\.0\.1: no port; expected redis:\/\/HOST:PORT/.test(noPort.output), `${seconds(noPort.ms)}: ${noPort.output.trim().split('\n').at(-1)}`);
    const downPort = await freePort();
    const down = await run('redis down', ['quantize', '-o', 'down', ...llama2c, '--queue', `redis://127.0.0.1:${downPort}`], 30_000);
    const downPattern = new RegExp(`no Redis answered at redis://127\\.0\\.0\\.1:${downPort} \\(.*ECONNREFUSED.*\\); expected a Redis ≥ 5\\.0\\.0 server there`);
    check('Redis down (coordinator): clear error within 10 s', down.code === 1 && downPattern.test(down.output) && down.ms < 10_000 && !existsSync(join(work, 'down.partial')), `${seconds(down.ms)}: ${down.output.trim().split('\n').at(-1)}`);
    const downWorker = await run('redis down (worker)', ['worker', '--queue', `redis://127.0.0.1:${downPort}`], 30_000);
    check('Redis down (worker): clear error within 10 s', downWorker.code === 1 && downPattern.test(downWorker.output) && downWorker.ms < 10_000, `${seconds(downWorker.ms)}`);

    // The same model as a Hugging Face directory, and a copy with one weight byte changed that a worker mounts in its place.
    const convert = await run('convert', ['convert', '--from', 'llama2c', '--to', 'hf', '--model', join(example, 'stories260K.bin'), '--tokenizer', join(example, 'tok512.bin'), '--out', 'hf']);
    cpSync(join(work, 'hf'), join(work, 'hf-other'), { recursive: true });
    const weights = join(work, 'hf-other/model.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 3] ^= 0x01;
    writeFileSync(weights, bytes);
    const worker = start('worker', ['worker', '--queue', queue, ...workerFlags, '--path-map', `${join(work, 'hf')}=${join(work, 'hf-other')}`]);
    await worker.waitFor(/taking jobs from/);
    const mismatch = await run('mismatched model', ['quantize', '-o', 'mismatch', '-m', join(work, 'hf'), ...settings, '--queue', queue], 120_000);
    worker.child.kill('SIGTERM');
    await worker.exited;
    const named = /the model at \S*hf-other on this worker has fingerprint [0-9a-f]{64}, the coordinator's has [0-9a-f]{64}/.test(mismatch.output);
    check('mismatched model: the run fails naming both fingerprints', convert.code === 0 && mismatch.code === 1 && named && !existsSync(join(work, 'mismatch')), `${seconds(mismatch.ms)}: ${mismatch.output.trim().split('\n').at(-1).slice(0, 300)}`);
    // A permanent error is not retried: the failed job ran once.
    const failedJob = /\(job (\S+)\) failed on a worker/.exec(mismatch.output)?.[1];
    const attempts = failedJob ? worker.output().split('\n').filter((line) => line.includes(`job ${failedJob}: failed`)).length : 0;
    check('a worker seeing another model fails the job without retrying it', attempts === 1, `${failedJob ?? 'no job'} failed ${attempts} times`);
  }

  // ---- 6. Redis lost mid-run (last: it stops this run's Redis): coordinator and worker end with an error
  {
    const worker = start('worker', ['worker', '--queue', queue, ...workerFlags, '--reconnect-timeout', '2000']);
    await worker.waitFor(/taking jobs from/);
    const coordinator = start('coordinator', ['quantize', '-o', 'lost', ...llama2c, '--queue', queue, '--reconnect-timeout', '2000']);
    await worker.waitFor(/done in/, 120_000);
    redis.kill('SIGKILL');
    const lostAt = Date.now();
    const [ended, workerEnded] = await Promise.all([coordinator.exited, worker.exited]);
    const ms = Date.now() - lostAt;
    // The cause is whichever ioredis reported first: the refused reconnect, or the commands it gave up on.
    const message = /^vptq: vptq quantize: lost the queue at redis:\/\/127\.0\.0\.1:\d+: (.*ECONNREFUSED.*|Connection is closed\.); the finished layers stay in \S*lost\.partial, run the same command again to continue/;
    // The error is the last thing each prints (no crash of an unhandled rejection after it).
    const lastLine = (output) => output.trim().split('\n').at(-1);
    const coordinatorOk = ended.code === 1 && message.test(lastLine(coordinator.output()));
    check('Redis lost mid-run: the coordinator ends with a clear error', coordinatorOk, `${seconds(ms)}: ${coordinatorOk ? lastLine(coordinator.output()) : coordinator.output()}`);
    check('Redis lost mid-run: the worker ends with a clear error', workerEnded.code === 1 && /^vptq: vptq worker: lost the queue at redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/.test(lastLine(worker.output())) && ms < 30_000, `${seconds(ms)}: ${lastLine(worker.output())}`);
  }
} catch (error) {
  check('test:distributed ran to its end', false, error.stack);
}
finish();
