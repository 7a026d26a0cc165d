import { CastlineError, httpStatusOf, type ErrorCode } from '../domain/errors';
import type { ApiResponse } from './api.types';

const NO_CACHE = { 'Cache-Control': 'no-cache' };

export function json(status: number, body: object, headers?: Record<string, string>): ApiResponse {
  return { status, headers: headers === undefined ? NO_CACHE : { ...NO_CACHE, ...headers }, body };
}

/** The one mapping from an error code to an HTTP status and a JSON `{ "error", "code" }` body. */
export function errorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}): ApiResponse {
  return json(httpStatusOf(code), { error: message, code }, headers);
}

export function fromError(err: unknown): ApiResponse {
  if (err instanceof CastlineError) return errorResponse(err.code, err.message);
  return errorResponse('INTERNAL', 'internal error');
}
