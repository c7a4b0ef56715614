import { describe, expect, it } from 'vitest';

import { parseQueueUrl } from './parse-queue-url';

describe('parseQueueUrl', () => {
  it('reads host, port, database, credentials and TLS', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6379')).toEqual({ host: '10.0.0.5', port: 6379, db: 0, username: undefined, password: undefined, tls: false, display: 'redis://10.0.0.5:6379' });
    expect(parseQueueUrl('rediss://worker:s%40cret@queue.example:6380/2')).toEqual({
      host: 'queue.example',
      port: 6380,
      db: 2,
      username: 'worker',
      password: 's@cret',
      tls: true,
      display: 'rediss://worker:***@queue.example:6380/2',
    });
    expect(parseQueueUrl('redis://[::1]:7000').host).toBe('::1');
  });

  it.each([
    ['localhost:6379', /--queue localhost:6379: unsupported scheme localhost:; expected redis:\/\/HOST:PORT/],
    ['not a url', /--queue not a url: not a URL; expected redis:\/\/HOST:PORT/],
    ['http://127.0.0.1:6379', /unsupported scheme http:/],
    ['redis://127.0.0.1', /--queue redis:\/\/127.0.0.1: no port/],
    ['redis://127.0.0.1:6379/queue', /the path must be a database number \(got \/queue\)/],
    ['redis://127.0.0.1:6379/?db=1', /query strings and fragments are not read/],
  ])('refuses %s naming it and the form expected', (text, message) => {
    expect(() => parseQueueUrl(text)).toThrow(message);
    expect(() => parseQueueUrl(text)).toThrow(/expected redis:\/\/HOST:PORT \(or rediss:\/\/HOST:PORT for TLS/);
  });

  it('never puts a password in a message', () => {
    expect(() => parseQueueUrl('redis://user:hunter2@127.0.0.1')).toThrow(/redis:\/\/user:\*\*\*@127.0.0.1: no port/);
    expect(() => parseQueueUrl('redis://user:hunter2@127.0.0.1')).not.toThrow(/hunter2/);
  });
});
