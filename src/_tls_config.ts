// The `tls` option, checked into what adapters get (TlsConfig).
import type { TlsOptions } from "./network.ts";
import {
  checkBoolean,
  checkKeys,
  checkObject,
  type KeyRegistry,
  keySet,
} from "./_checks.ts";

const TLS_KEYS = keySet<TlsOptions>(
  {
    ca: true,
    cert: true,
    key: true,
    insecure: true,
  } satisfies KeyRegistry<TlsOptions>,
);

/**
 * The `tls` option, checked: what a session passes to adapters as
 * `PoolHints.tls` (a `TlsOptions` whose `ca` is always an array).
 */
export interface TlsConfig extends TlsOptions {
  ca: string[];
  cert?: string;
  key?: string;
  insecure: boolean;
}

function isPem(value: unknown): value is string {
  return typeof value === "string" && /-----BEGIN [A-Z0-9 ]+-----/.test(value);
}

/** Check the `tls` option. */
export function parseTls(value: unknown, action: string): TlsConfig {
  checkObject(value, action, "tls");
  checkKeys(value, TLS_KEYS, action, "tls.");
  const { ca, cert, key, insecure } = value as TlsOptions;
  const config: TlsConfig = { ca: [], insecure: false };
  if (ca !== undefined) {
    const list = typeof ca === "string" ? [ca] : ca;
    if (!Array.isArray(list) || !list.every(isPem)) {
      throw new TypeError(
        `Cannot ${action} as 'tls.ca' must be a PEM certificate or an array of them`,
      );
    }
    config.ca = [...list];
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError(
      `Cannot ${action} as 'tls.cert' and 'tls.key' go together: pass both or neither`,
    );
  }
  if (cert !== undefined) {
    if (!isPem(cert)) {
      throw new TypeError(
        `Cannot ${action} as 'tls.cert' must be a PEM certificate (chain)`,
      );
    }
    // Never echo the key.
    if (!isPem(key)) {
      throw new TypeError(`Cannot ${action} as 'tls.key' must be a PEM key`);
    }
    config.cert = cert;
    config.key = key;
  }
  if (insecure !== undefined) {
    config.insecure = checkBoolean("tls.insecure", insecure, action);
  }
  return config;
}
