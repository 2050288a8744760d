import { z } from 'zod'

/** The API's error type and body parsing, shared by its route files. */

/** Prefix of the versioned API routes. */
export const API_PREFIX = '/api/v1'

/** An error with an HTTP status and a stable code, sent as `{ error: { code, message } }`. */
export class HttpError extends Error {
  readonly statusCode: number
  readonly code: string
  constructor (statusCode: number, code: string, message: string) {
    super(message)
    this.name = 'HttpError'
    this.statusCode = statusCode
    this.code = code
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, 'ERR_BAD_REQUEST', message)

/** Parses a JSON body with `schema`. @throws HttpError 400 naming the first bad field */
export function parseBody<T> (schema: z.ZodType<T>, body: unknown): T {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('expected a JSON object body (Content-Type: application/json)')
  const r = schema.safeParse(body)
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue
    if (issue.code === 'unrecognized_keys') throw badRequest(`unknown field "${issue.keys.join('", "')}"`)
    const field = issue.path.map(String).join('.')
    throw badRequest(`field "${field}": ${issue.message}`)
  }
  return r.data
}
