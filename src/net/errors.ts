/**
 * Why no address could be found. `kind` says whose fault it is, so a caller can pick an exit code:
 * 'config' (the spec or environment is wrong; retrying cannot help) or 'unavailable' (nothing
 * usable appeared before the deadline).
 */
export class AddressError extends Error {
  constructor(
    message: string,
    readonly kind: 'config' | 'unavailable' = 'unavailable',
  ) {
    super(message);
    this.name = 'AddressError';
  }
}
