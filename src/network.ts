/**
 * Types of the network options: redirects, progress, TLS.
 *
 * @module
 */

/**
 * What to do with a redirect (301, 302, 303, 307, 308 with a `Location`):
 * `"follow"` it (up to `maxRedirects`), return it as the response
 * (`"manual"`), or throw {@linkcode RedirectError} (`"error"`).
 *
 * @example
 * ```ts
 * import { Session, type RedirectMode } from "@x/sessions";
 * const redirect: RedirectMode = "manual";
 * await using session = new Session({ redirect });
 * ```
 */
export type RedirectMode = "follow" | "manual" | "error";

/**
 * Progress of a body being sent or received.
 *
 * @example
 * ```ts
 * import type { Progress } from "@x/sessions";
 * const show = ({ loaded, total }: Progress) =>
 *   console.log(total === undefined ? `${loaded} bytes` : `${Math.round(100 * loaded / total)}%`);
 * show({ loaded: 50, total: 200 }); // "25%"
 * ```
 */
export interface Progress {
  /** Bytes so far (of the decoded body, for a download). */
  readonly loaded: number;
  /**
   * All bytes, when known: from the body's size for an upload, from
   * `Content-Length` for a download that is not compressed.
   */
  readonly total: number | undefined;
}

/**
 * Called with the {@linkcode Progress} of a body: once with `loaded: 0`,
 * then after each chunk, the last call with the whole size.
 *
 * @example
 * ```ts
 * import type { ProgressCallback } from "@x/sessions";
 * const seen: number[] = [];
 * const onDownloadProgress: ProgressCallback = ({ loaded }) => seen.push(loaded);
 * onDownloadProgress({ loaded: 0, total: undefined });
 * console.log(seen); // [0]
 * ```
 */
export type ProgressCallback = (progress: Progress) => void;

/**
 * TLS settings of a session's connections, as PEM strings.
 *
 * @example Trust a private CA and present a client certificate
 * ```ts ignore
 * import { Session } from "@x/sessions";
 * import { readFileSync } from "node:fs";
 * await using session = new Session({
 *   baseUrl: "https://internal.test",
 *   tls: {
 *     ca: readFileSync("ca.pem", "utf8"),
 *     cert: readFileSync("client.pem", "utf8"),
 *     key: readFileSync("client-key.pem", "utf8"),
 *   },
 * });
 * ```
 */
export interface TlsOptions {
  /** Certificate authorities to trust, in addition to the runtime's own. */
  ca?: string | readonly string[];
  /** Client certificate (chain) to present; needs `key`. */
  cert?: string;
  /** Private key of `cert` (PKCS#8 PEM works on every runtime). */
  key?: string;
  /**
   * Accept any server certificate (self-signed, expired, wrong host). For
   * tests only: anyone on the path can read and change the traffic.
   * @default false
   */
  insecure?: boolean;
}
