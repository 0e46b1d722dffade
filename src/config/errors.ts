/** Error thrown for any invalid configuration, file or override. `code` is always 'ERR_CONFIG'. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG' as const;
  /** Individual problems (one line each) when several were found at once. */
  readonly issues: string[];

  constructor(message: string, issues?: string[]) {
    super(message);
    this.name = 'ConfigError';
    this.issues = issues ?? [message];
  }
}

/** Short rendering of a received value for error messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (typeof v === 'string') return `${JSON.stringify(v)} (string)`;
  if (typeof v === 'number') return `${String(v)} (number)`;
  if (typeof v === 'boolean') return `${String(v)} (boolean)`;
  if (Array.isArray(v)) {
    const s = JSON.stringify(v);
    return `${s.length > 60 ? s.slice(0, 57) + '...' : s} (array)`;
  }
  if (typeof v === 'object') {
    let s: string;
    try { s = JSON.stringify(v); } catch { s = '[object]'; }
    return `${s.length > 60 ? s.slice(0, 57) + '...' : s} (object)`;
  }
  return `${String(v)} (${typeof v})`;
}
