/**
 * Header helpers: normalising, validating and merging header sets.
 *
 * @module
 */
import { TOKEN } from "./_http.ts";

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
 */
export type HeaderRecord = Record<string, string>;

// What fetch refuses in a value: control characters other than HTAB, DEL,
// and anything above 0xFF (a value is a byte string).
const BAD_VALUE = /[^\t\x20-\x7E\x80-\xFF]/;
// Leading or trailing HTTP whitespace, which fetch strips.
const EDGE_SPACE = /^[\t ]+|[\t ]+$/g;

/**
 * Hop-by-hop and framing headers: they describe one connection, which the
 * session's pool owns, so a request may not set them (a `Connection:
 * upgrade` could leave a pooled connection waiting for a protocol switch).
 */
const HOP_BY_HOP = new Set([
  "connection",
  "upgrade",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
]);

/**
 * Check one header; returns the lower-case name.
 *
 * @throws {TypeError} for an invalid name, a hop-by-hop header, or a value
 * fetch would refuse.
 */
export function checkHeader(
  name: string,
  value: unknown,
  action: string,
): string {
  if (typeof name !== "string" || !TOKEN.test(name)) {
    throw new TypeError(
      `Cannot ${action} as header name ${
        JSON.stringify(String(name))
      } is not a valid HTTP token`,
    );
  }
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot ${action} as header '${name}' must be a string: received ${typeof value}`,
    );
  }
  if (BAD_VALUE.test(value)) {
    throw new TypeError(
      `Cannot ${action} as the value of header '${name}' contains a control character (CR, LF or NUL included) or a character above U+00FF`,
    );
  }
  const lower = name.toLowerCase();
  if (HOP_BY_HOP.has(lower)) {
    throw new TypeError(
      `Cannot ${action} as header '${name}' is hop-by-hop: the session's pool manages connections and message framing itself`,
    );
  }
  return lower;
}

/** `value` without leading and trailing spaces and tabs, as fetch sends it. */
function trimValue(value: string): string {
  const last = value.length - 1;
  if (last < 0) return value;
  const first = value.charCodeAt(0);
  const end = value.charCodeAt(last);
  if (first !== 32 && first !== 9 && end !== 32 && end !== 9) return value;
  return value.replace(EDGE_SPACE, "");
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * Merge `extra` over `base` into a new record (or `base` itself when there
 * is nothing to merge). `undefined` values in a record remove the header.
 *
 * @param base Normalised headers (lower-case names), not modified.
 * @param extra Headers to lay over them.
 * @param action What is being done, for error messages.
 * @returns The merged, validated headers with lower-case names.
 * @throws {TypeError} for an invalid header name or value.
 */
export function mergeHeaders(
  base: HeaderRecord,
  extra: HeadersInput | undefined,
  action = "send request",
): HeaderRecord {
  if (extra === undefined || extra === null) return base;
  const out: HeaderRecord = { ...base };
  if (extra instanceof Headers) {
    extra.forEach((value, name) => {
      out[checkHeader(name, value, action)] = trimValue(value);
    });
  } else if (Array.isArray(extra)) {
    mergePairs(out, extra, action);
  } else if (typeof extra === "object" && isPlainObject(extra)) {
    for (const name in extra) {
      const value = (extra as Record<string, string | undefined>)[name];
      if (value === undefined) {
        delete out[name.toLowerCase()];
        continue;
      }
      out[checkHeader(name, value, action)] = trimValue(value);
    }
  } else {
    throw new TypeError(
      `Cannot ${action} as 'headers' must be a record, Headers or [name, value] pairs: received ${
        describeType(extra)
      }${
        extra instanceof Map
          ? " (pass Object.fromEntries(map) or new Headers(map))"
          : ""
      }`,
    );
  }
  return out;
}

/** Lay `[name, value]` pairs over `out`; a repeated name joins its values. */
function mergePairs(
  out: HeaderRecord,
  pairs: ReadonlyArray<readonly [string, string]>,
  action: string,
): void {
  const seen = new Set<string>();
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(
        `Cannot ${action} as header pairs must be [name, value] arrays`,
      );
    }
    const name = checkHeader(pair[0], pair[1], action);
    const value = trimValue(pair[1]);
    out[name] = seen.has(name) ? `${out[name]}, ${value}` : value;
    seen.add(name);
  }
}
