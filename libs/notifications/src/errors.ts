/** Refusals of the device routes, with stable codes the HTTP edge maps to statuses. */
export type DeviceErrorCode = 'DEVICE.NOT_FOUND' | 'DEVICE.TOO_MANY' | 'DEVICE.UNSUPPORTED';

export class DeviceError extends Error {
  constructor(
    readonly code: DeviceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceError';
  }
}
