/**
 * HTTP/2: the `http2` option, and the versions a response reports.
 *
 * @module
 */

/**
 * How a session speaks HTTP/2 (the `http2` option):
 *
 * - `false` (the default): HTTP/1.1 on every runtime;
 * - `true`: offer h2 in the TLS handshake (ALPN) and use it when the server
 *   agrees, else HTTP/1.1; cleartext `http:` URLs stay on HTTP/1.1;
 * - `"prior-knowledge"`: h2 without asking, over cleartext too (h2c), for
 *   servers known to speak it (not on Bun, whose client has no h2c).
 *
 * @example
 * ```ts
 * import { type Http2Mode, Session } from "@x/sessions";
 * const mode: Http2Mode = true;
 * await using session = new Session({ http2: mode });
 * ```
 */
export type Http2Mode = boolean | "prior-knowledge";

/**
 * The HTTP version a response came over.
 *
 * @example
 * ```ts
 * import type { HttpVersion } from "@x/sessions";
 * const version: HttpVersion = "2";
 * ```
 */
export type HttpVersion = "1.1" | "2";

/**
 * `value` as an {@linkcode Http2Mode}.
 *
 * @throws {TypeError} naming `action` for anything else.
 */
export function parseHttp2(value: unknown, action: string): Http2Mode {
  if (value === undefined) return false;
  if (value === true || value === false || value === "prior-knowledge") {
    return value;
  }
  throw new TypeError(
    `Cannot ${action} as 'http2' must be true, false or "prior-knowledge": current value is ${
      typeof value === "string" ? JSON.stringify(value) : String(value)
    }`,
  );
}

/** Whether a request to `origin` may go over h2 in `mode`. */
export function mayUseH2(mode: Http2Mode, origin: string): boolean {
  return mode === "prior-knowledge" ||
    (mode === true && origin.startsWith("https:"));
}
