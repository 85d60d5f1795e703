// The session's TLS settings as undici's `connect` option (Node, and Deno
// when it uses undici) and Bun's `tls` option take them. Extra CAs are
// added to the runtime's default roots, never put in their place, so one
// session reaches both a private API and public hosts.
import type { TlsOptions } from "../network.ts";

type NodeTls = typeof import("node:tls") & {
  // Node 22.15+, Bun: the default roots, with NODE_EXTRA_CA_CERTS and the
  // system store when the runtime uses it.
  getCACertificates?: (type: "default") => string[];
};
type Fs = typeof import("node:fs");
type Env = { env?: Record<string, string | undefined> };

const builtin = (globalThis as {
  process?: { getBuiltinModule?: (name: string) => unknown };
}).process?.getBuiltinModule;

function nodeTls(): NodeTls {
  const tls = builtin?.("node:tls") as NodeTls | undefined;
  if (tls === undefined) {
    throw new TypeError(
      "Cannot use the 'tls' option as this runtime has no node:tls module",
    );
  }
  return tls;
}

/** The extra certificate authorities of `tls`, as a list. */
export function caList(tls: TlsOptions): readonly string[] {
  return typeof tls.ca === "string" ? [tls.ca] : tls.ca ?? [];
}

/**
 * undici's `connect` options: a secure context holding the default roots
 * plus `ca`, the client certificate, and `rejectUnauthorized`.
 */
export function undiciTls(tls: TlsOptions): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const ca = caList(tls);
  if (ca.length > 0 || tls.cert !== undefined) {
    const { createSecureContext, getCACertificates } = nodeTls();
    // Without `ca`, the context starts from the default roots.
    const context = createSecureContext(
      tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {},
    );
    const native = context.context as { addCACert(pem: string): void };
    if (ca.length > 0 && getCACertificates === undefined) {
      // Node 20 leaves NODE_EXTRA_CA_CERTS out of a context that gets a CA
      // added (nodejs/node#32010): add it again.
      const extra = (globalThis as { process?: Env }).process?.env
        ?.NODE_EXTRA_CA_CERTS;
      if (extra) {
        const fs = builtin?.("node:fs") as Fs | undefined;
        native.addCACert(fs!.readFileSync(extra, "utf8"));
      }
    }
    for (const pem of ca) native.addCACert(pem);
    options.secureContext = context;
  }
  if (tls.insecure) options.rejectUnauthorized = false;
  return options;
}

/** Bun's `tls` options: `ca` holds the default roots as well. */
export function bunTls(tls: TlsOptions): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const ca = caList(tls);
  if (ca.length > 0) {
    options.ca = [...nodeTls().getCACertificates!("default"), ...ca];
  }
  if (tls.cert !== undefined) {
    options.cert = tls.cert;
    options.key = tls.key;
  }
  if (tls.insecure) options.rejectUnauthorized = false;
  return options;
}
