// The checks every option parser shares: one wording for each kind of
// mistake (a leaf: imports nothing but the timer bound).
import { MAX_TIMER } from "./_timers.ts";

/**
 * The keys an options interface has, each `true`: written as an object
 * literal, it fails to compile when a key of the interface is missing.
 */
export type KeyRegistry<T> = { readonly [K in keyof Required<T>]: true };

/** The keys of a registry as a set, for {@linkcode checkKeys}. */
export function keySet<T>(registry: KeyRegistry<T>): ReadonlySet<string> {
  return new Set(Object.keys(registry));
}

/** `typeof`, with `null` and arrays named as such, for messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Throw a TypeError unless `options` is an object. */
export function checkObject(
  options: unknown,
  action: string,
  name = "options",
): asserts options is object {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot ${action} as ${
        name === "options" ? name : `'${name}'`
      } must be an object: received ${typeName(options)}`,
    );
  }
}

/**
 * Throw a TypeError naming the first key of `options` not in `known`:
 * `'<prefix><key>' is not a known <noun>`.
 */
export function checkKeys(
  options: object,
  known: ReadonlySet<string>,
  action: string,
  prefix = "",
  noun = "option",
): void {
  for (const key in options) {
    if (!known.has(key)) {
      throw new TypeError(
        `Cannot ${action} as '${prefix}${key}' is not a known ${noun}: expected one of ${
          [...known].join(", ")
        }`,
      );
    }
  }
}

/** A non-negative integer (or `Infinity` when `infinite`). */
export function checkCount(
  name: string,
  value: unknown,
  action: string,
  infinite = false,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number: received ${typeof value}`,
    );
  }
  if (
    !(infinite && value === Infinity) && (!Number.isInteger(value) || value < 0)
  ) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a non-negative integer${
        infinite ? " or Infinity" : ""
      }: current value is ${value}`,
    );
  }
  return value;
}

/** A duration in ms for a timer: `Infinity` means none (0). */
export function checkDuration(
  name: string,
  value: unknown,
  action: string,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a number of milliseconds: received ${typeof value}`,
    );
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be a non-negative number of milliseconds: current value is ${value}`,
    );
  }
  if (value === Infinity) return 0;
  if (value > MAX_TIMER) {
    throw new RangeError(
      `Cannot ${action} as '${name}' must be at most ${MAX_TIMER} ms (use 0 or Infinity for none): current value is ${value}`,
    );
  }
  return value;
}

// The caller's type says which function it is: only `typeof` is checked.
/** A function-valued option. */
export function checkFunction<T>(
  name: string,
  value: unknown,
  action: string,
): T {
  if (typeof value !== "function") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a function: received ${typeof value}`,
    );
  }
  return value as T;
}

/** A boolean option. */
export function checkBoolean(
  name: string,
  value: unknown,
  action: string,
): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot ${action} as '${name}' must be a boolean: received ${typeof value}`,
    );
  }
  return value;
}
