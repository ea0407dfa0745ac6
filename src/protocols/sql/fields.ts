// Pieces shared by the SQL clients (PostgreSQL, MySQL/MariaDB): how many rows a query keeps, and the
// JSON value a typed column decodes to.
import { z } from 'zod';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Rows are read to the end of every result; these bound what is kept and returned. */
export interface Limits {
  maxRows: number;
  maxBytes: number;
}

export const limitFields = {
  maxRows: z.number().int().min(0).max(1_000_000).default(1000).describe('Rows kept across all results; more are read and counted, not kept'),
  maxBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(8 * 1024 * 1024).describe('Row bytes kept across all results'),
};

export const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);
