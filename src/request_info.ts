/**
 * {@linkcode RequestInfo}: the method and URL of a request, as errors,
 * responses and events carry it.
 *
 * @module
 */

/**
 * Method and URL of a request, as shown in error messages.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "@x/sessions";
 * const error = new TimeoutError(10, { request: { method: "GET", url: "https://a.test/" } });
 * console.log(error.request?.url); // "https://a.test/"
 * ```
 */
export interface RequestInfo {
  /** HTTP method, upper case. */
  readonly method: string;
  /** Absolute URL without user name or password. */
  readonly url: string;
}
