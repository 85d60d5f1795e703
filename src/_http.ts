// Facts of HTTP that several layers share (a leaf: imports nothing).

/** Methods the HTTP specification calls idempotent (safe to repeat). */
export const IDEMPOTENT: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
  "TRACE",
]);

/** An HTTP token (RFC 9110): methods, header names, cookie names. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `true` for a status whose responses never have a body. */
export function isNullBodyStatus(status: number): boolean {
  return status === 101 || status === 204 || status === 205 || status === 304;
}

/** `true` when a response to `method` with `status` has no body. */
export function hasNoBody(method: string, status: number): boolean {
  return method === "HEAD" || isNullBodyStatus(status);
}

/** The `Authorization: Basic` value for a user name and password. */
export function basicAuth(user: string, password: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(`${user}:${password}`)) {
    binary += String.fromCharCode(byte);
  }
  return "Basic " + btoa(binary);
}

/**
 * The first `code` in `error`'s cause chain (at most four deep): what
 * adapters and runtimes mark their errors with.
 */
export function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (
    let depth = 0;
    depth < 4 && typeof current === "object" && current !== null;
    depth++
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
