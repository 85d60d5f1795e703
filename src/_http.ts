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

/** `error` and its causes, at most four deep: where runtimes put details. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (chain.length < 4 && typeof current === "object" && current !== null) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

/**
 * The first `code` in `error`'s cause chain: what adapters and runtimes
 * mark their errors with.
 */
export function errorCode(error: unknown): string | undefined {
  for (const link of causeChain(error)) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}
