import { describe, expect, it } from 'vitest';

import { hessianPath, parseProjectionJob, projectionJobId, projectionQueueName, projectionResultPath } from './projection-job';

const fingerprint = 'a'.repeat(64);
const valid = {
  version: 1,
  jobDirectory: '/shared/out.partial',
  jobFingerprint: fingerprint,
  modelFingerprint: 'b'.repeat(64),
  deviceKind: 'cpu',
  layer: 3,
  projection: 'down_proj',
};

describe('projectionJobId', () => {
  it('is the same for the same job, directory, layer and projection', () => {
    expect(projectionJobId(fingerprint, '/shared/out.partial', 3, 'q_proj')).toBe(projectionJobId(fingerprint, '/shared/out.partial', 3, 'q_proj'));
  });

  it('differs when the fingerprint, the job directory, the layer or the projection differs', () => {
    const ids = new Set([
      projectionJobId(fingerprint, '/shared/out.partial', 3, 'q_proj'),
      projectionJobId('c'.repeat(64), '/shared/out.partial', 3, 'q_proj'),
      projectionJobId(fingerprint, '/shared/other.partial', 3, 'q_proj'),
      projectionJobId(fingerprint, '/shared/out.partial', 4, 'q_proj'),
      projectionJobId(fingerprint, '/shared/out.partial', 3, 'k_proj'),
    ]);
    expect(ids.size).toBe(5);
  });

  it('is a valid BullMQ custom id (no colon, not an integer) and names layer and projection', () => {
    const id = projectionJobId(fingerprint, '/shared/out.partial', 12, 'gate_proj');
    expect(id).toMatch(/^vptq-[0-9a-f]{32}-0012-gate_proj$/);
  });
});

describe('parseProjectionJob', () => {
  it('accepts a payload the coordinator writes', () => {
    expect(parseProjectionJob(JSON.parse(JSON.stringify(valid)))).toEqual(valid);
  });

  it.each([
    [null, /expected an object \(got null\)/],
    [{ ...valid, version: 2 }, /version must be 1.*\(got 2\); run the same vptq version/],
    [{ ...valid, jobDirectory: 'relative/out.partial' }, /jobDirectory must be an absolute path \(got "relative\/out.partial"\)/],
    [{ ...valid, jobDirectory: undefined }, /jobDirectory must be a non-empty string \(got undefined\)/],
    [{ ...valid, jobFingerprint: 'abc' }, /jobFingerprint must be 64 lower-case hex digits \(got "abc"\)/],
    [{ ...valid, modelFingerprint: 'B'.repeat(64) }, /modelFingerprint must be 64 lower-case hex digits/],
    [{ ...valid, deviceKind: 'tpu' }, /deviceKind must be cpu or gpu \(got "tpu"\)/],
    [{ ...valid, layer: -1 }, /layer must be a non-negative integer \(got -1\)/],
    [{ ...valid, layer: 1.5 }, /layer must be a non-negative integer \(got 1.5\)/],
    [{ ...valid, projection: 'lm_head' }, /projection must be one of q_proj, .*down_proj \(got "lm_head"\)/],
  ])('refuses %j naming the field and what was expected', (payload, message) => {
    expect(() => parseProjectionJob(payload)).toThrow(message);
    try {
      parseProjectionJob(payload);
    } catch (error) {
      expect(error).toMatchObject({ code: 'VPTQ_QUEUE_PAYLOAD', permanent: true });
    }
  });
});

describe('job directory paths', () => {
  it('keeps Hessians and results under distributed/, named by layer', () => {
    expect(hessianPath('/j', 7, 'mlp-hidden')).toBe('/j/distributed/hessian-0007-mlp-hidden.safetensors');
    expect(projectionResultPath('/j', 7, 'o_proj')).toBe('/j/distributed/projection-0007-o_proj.safetensors');
    expect(projectionQueueName('gpu')).toBe('vptq-projections-gpu');
  });
});
