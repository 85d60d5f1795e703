// Compressed bodies on Node: what undici hands over as it came, decoded
// with node:zlib as fetch would (gzip, deflate in both forms, br, and zstd
// where Node has it).
import type { Transform } from "node:stream";

export type Zlib = typeof import("node:zlib") & {
  // Node 22.15+ and 23.8+.
  createZstdDecompress?: () => Transform;
};
type Streams = typeof import("node:stream");
const builtin = (globalThis as {
  process?: { getBuiltinModule?: (name: string) => unknown };
}).process?.getBuiltinModule;
const zlib = builtin?.("node:zlib") as Zlib | undefined;
const streams = builtin?.("node:stream") as Streams | undefined;
export const ACCEPT_ENCODING = typeof zlib?.createZstdDecompress === "function"
  ? "gzip, deflate, br, zstd"
  : "gzip, deflate, br";

export function decoderFor(encoding: string): Transform | undefined {
  if (zlib === undefined) return undefined;
  switch (encoding.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      // Lenient about a missing end, as browsers are.
      return zlib.createGunzip({
        flush: zlib.constants.Z_SYNC_FLUSH,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
    case "deflate":
      return inflater(zlib);
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd":
      return zlib.createZstdDecompress?.();
  }
  return undefined;
}

/**
 * A `deflate` decoder for both forms servers send: zlib-wrapped (RFC 1950,
 * as the specification says) and raw (RFC 1951), told apart by the first
 * byte, as browsers and undici's fetch do.
 */
function inflater(zlib: Zlib): Transform {
  let inner: Transform | undefined;
  return new streams!.Transform({
    transform(chunk: Uint8Array, _encoding, callback) {
      if (inner === undefined) {
        inner = (chunk[0] & 0x0f) === 0x08
          ? zlib.createInflate()
          : zlib.createInflateRaw();
        inner.on("data", (data) => this.push(data));
        inner.on("error", (error) => this.destroy(error));
      }
      inner.write(chunk, callback);
    },
    flush(callback) {
      if (inner === undefined) return callback();
      inner.once("end", () => callback());
      inner.end();
    },
  });
}
