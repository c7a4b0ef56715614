/**
 * While a distributed run talks to Redis: ignores promise rejections nobody handles whose error is ioredis's
 * "Connection is closed." Once Redis is gone for good, ioredis rejects every pending command, including those that
 * BullMQ awaits inside `new Promise(async …)` executors (`Job.waitUntilFinished`), where no caller can catch them;
 * Node would end the process on them before the run reports the loss of its queue (a `DistributedError`). Any other
 * unhandled rejection is left to Node's default handling. Returns the function that removes the handler: 5 s
 * later, as the commands of connections that are being dropped keep failing for a moment after the run ended.
 */
export function ignoreClosedConnectionRejections(): () => void {
  const handler = (reason: unknown) => {
    if (reason instanceof Error && reason.message === 'Connection is closed.') return;
    // Not ours to swallow: Node's default for an unhandled rejection (a crash with the error) once this handler is gone.
    process.off('unhandledRejection', handler);
    throw reason;
  };
  process.on('unhandledRejection', handler);
  return () => void setTimeout(() => process.off('unhandledRejection', handler), 5000).unref();
}
