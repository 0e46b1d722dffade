/** Error for a missing or malformed dataset (code 'ERR_DATA'); the message says what was expected and where. */
export class DataError extends Error {
  readonly code = 'ERR_DATA' as const;
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
