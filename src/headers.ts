/**
 * Header helpers: normalising, validating and merging header sets.
 *
 * @module
 */

/**
 * Headers as options accept them: a record (an `undefined` value removes a
 * header inherited from the session), a `Headers` object, or name/value
 * pairs.
 *
 * @example
 * ```ts
 * import type { HeadersInput } from "@x/sessions";
 * const headers: HeadersInput = { "x-trace": "1", "x-inherited": undefined };
 * ```
 */
export type HeadersInput =
  | Record<string, string | undefined>
  | Headers
  | ReadonlyArray<readonly [string, string]>;

/**
 * Lower-case names mapped to values; what the pools receive.
 *
 * @example
 * ```ts
 * import { mergeHeaders, type HeaderRecord } from "@x/sessions";
 * const headers: HeaderRecord = mergeHeaders({}, { Accept: "application/json" });
 * console.log(headers); // { accept: "application/json" }
 * ```
 */
export type HeaderRecord = Record<string, string>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/**
 * Check one header; returns the lower-case name.
 *
 * @throws {TypeError} for an invalid name or a value with CR, LF or NUL.
 */
export function checkHeader(
  name: string,
  value: unknown,
  where: string,
): string {
  if (typeof name !== "string" || !TOKEN.test(name)) {
    throw new TypeError(
      `Cannot ${where} as header name ${
        JSON.stringify(String(name))
      } is not a valid HTTP token`,
    );
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot ${where} as header '${name}' must be a string: received ${typeof value}`,
    );
  }
  if (BAD_VALUE.test(value)) {
    throw new TypeError(
      `Cannot ${where} as the value of header '${name}' contains CR, LF or NUL`,
    );
  }
  return name.toLowerCase();
}

/**
 * Merge `extra` over `base` into a new record (or `base` itself when there
 * is nothing to merge). `undefined` values in a record remove the header.
 *
 * @example
 * ```ts
 * import { mergeHeaders } from "@x/sessions";
 * console.log(mergeHeaders({ accept: "*\/*", "x-a": "1" }, { "X-A": undefined, "x-b": "2" }));
 * // { accept: "*\/*", "x-b": "2" }
 * ```
 *
 * @param base Normalised headers (lower-case names), not modified.
 * @param extra Headers to lay over them.
 * @param where What is being done, for error messages.
 * @returns The merged, validated headers with lower-case names.
 * @throws {TypeError} for an invalid header name or value.
 */
export function mergeHeaders(
  base: HeaderRecord,
  extra: HeadersInput | undefined,
  where = "send request",
): HeaderRecord {
  if (extra === undefined || extra === null) return base;
  const out: HeaderRecord = { ...base };
  if (extra instanceof Headers) {
    extra.forEach((value, name) => {
      out[checkHeader(name, value, where)] = value;
    });
  } else if (Array.isArray(extra)) {
    for (const pair of extra as ReadonlyArray<readonly [string, string]>) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TypeError(
          `Cannot ${where} as header pairs must be [name, value] arrays`,
        );
      }
      const name = checkHeader(pair[0], pair[1], where);
      out[name] = name in out && extra !== undefined && out[name] !== base[name]
        ? `${out[name]}, ${pair[1]}`
        : pair[1];
    }
  } else if (typeof extra === "object") {
    for (const name in extra) {
      const value = (extra as Record<string, string | undefined>)[name];
      if (value === undefined) {
        delete out[name.toLowerCase()];
        continue;
      }
      out[checkHeader(name, value, where)] = value;
    }
  } else {
    throw new TypeError(
      `Cannot ${where} as 'headers' must be a record, Headers or [name, value] pairs: received ${typeof extra}`,
    );
  }
  return out;
}
