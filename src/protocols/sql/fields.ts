// Pieces shared by the SQL clients (PostgreSQL, MySQL/MariaDB): how many rows a query keeps, and the
// JSON value a typed column decodes to.
import * as z from 'zod';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Rows are read to the end of every result; these bound what is kept and returned. */
export interface Limits {
  maxRows: number;
  maxBytes: number;
}

export const limitFields = {
  maxRows: z.number().int().min(0).max(1_000_000).default(1000).describe('Rows kept of each statement’s result; more are read and counted, not kept'),
  maxBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(8 * 1024 * 1024).describe('Row bytes kept across all results (the answer’s size)'),
};

/**
 * Which rows of a query's answer are kept: at most `maxRows` of each result set (one statement's rows
 * never eat another's), and at most `maxBytes` for the whole answer (once spent, later sets keep nothing).
 * Rows past a limit are still read and counted by the caller.
 */
export class RowBudget {
  /** Row bytes kept so far, across every set. */
  bytes = 0;
  /** The first limit that cut a set, e.g. "maxRows 1000". */
  first?: string;
  private rows = 0;
  private cut?: string;
  private spent?: string;

  constructor(private readonly limits: Limits) {}

  /** A new result set begins: its own row count, and whatever is left of the bytes. */
  nextSet(): void {
    this.rows = 0;
    this.cut = this.spent;
  }

  /** Whether the current set keeps a row of `size` bytes. */
  keep(size: number): boolean {
    if (this.cut === undefined) {
      if (this.rows + 1 > this.limits.maxRows) this.cut = `maxRows ${this.limits.maxRows}`;
      else if (this.bytes + size > this.limits.maxBytes) this.cut = this.spent = `maxBytes ${this.limits.maxBytes}`;
      if (this.cut !== undefined) this.first ??= this.cut;
    }
    if (this.cut !== undefined) return false;
    this.rows++;
    this.bytes += size;
    return true;
  }

  /** Bytes that are not rows (COPY data) against the answer's size; false once they do not fit. */
  fits(size: number): boolean {
    if (this.bytes + size <= this.limits.maxBytes) return true;
    this.spent ??= `maxBytes ${this.limits.maxBytes}`;
    this.first ??= this.spent;
    return false;
  }
}

export const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
