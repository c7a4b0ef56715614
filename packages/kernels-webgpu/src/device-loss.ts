import { DeviceLostError } from './errors';

const lostDevices = new WeakMap<GPUDevice, DeviceLostError>();
const watchers = new WeakMap<GPUDevice, Promise<DeviceLostError>>();

/**
 * Starts recording the loss of `device` (idempotent) and returns a promise of its {@link DeviceLostError},
 * so that failed readbacks can report the loss instead of a generic `OperationError`.
 */
export function watchDeviceLoss(device: GPUDevice): Promise<DeviceLostError> {
  let watcher = watchers.get(device);
  if (!watcher) {
    watcher = device.lost.then((info) => {
      const error = new DeviceLostError(info.reason, info.message);
      lostDevices.set(device, error);
      return error;
    });
    watchers.set(device, watcher);
  }
  return watcher;
}

/**
 * The {@link DeviceLostError} of a device watched with {@link watchDeviceLoss} if it is lost, else
 * `undefined`. A few microtask turns let an already settled `device.lost` be recorded first.
 */
export async function findDeviceLoss(device: GPUDevice): Promise<DeviceLostError | undefined> {
  void watchDeviceLoss(device);
  for (let turn = 0; turn < 4 && !lostDevices.has(device); turn++) await Promise.resolve();
  return lostDevices.get(device);
}
