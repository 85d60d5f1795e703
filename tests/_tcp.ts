/**
 * A raw TCP server on 127.0.0.1 for faults node:http cannot script: status
 * lines outside 100-599, a reset or a clean close in the middle of a body,
 * truncated chunked encoding. `onSocket` decides what each connection gets;
 * the server counts connections and tears itself down with `await using`.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { delay } from "./_test.ts";

/** A running raw TCP server. */
export interface TcpServer extends AsyncDisposable {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
}

/** Start a raw TCP server; `onSocket` gets each connection and its index. */
export async function tcpServer(
  onSocket: (socket: Socket, index: number) => void,
): Promise<TcpServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket, accepted++);
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    open: () => sockets.size,
    async [Symbol.asyncDispose]() {
      const closed = new Promise<void>((resolve) =>
        server.close(() => resolve())
      );
      for (const socket of sockets) socket.destroy();
      await closed;
      for (let i = 0; i < 100 && sockets.size > 0; i++) await delay(5);
    },
  };
}

/**
 * Answer every request on `socket` with `respond(requestHead)` once it
 * arrived in full: its head, and its body by Content-Length or chunked.
 */
export function onRequests(
  socket: Socket,
  respond: (head: string, index: number) => void,
): void {
  let buffered = "";
  let index = 0;
  socket.on("data", (chunk) => {
    buffered += chunk.toString("latin1");
    for (;;) {
      const end = buffered.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = buffered.slice(0, end);
      const rest = bodyEnd(head, buffered.slice(end + 4));
      if (rest === undefined) return; // the body is still arriving
      buffered = rest;
      respond(head, index++);
    }
  });
}

/** What follows the body of the request with `head`, once it is all in. */
function bodyEnd(head: string, data: string): string | undefined {
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length !== null) {
    const size = Number(length[1]);
    return data.length < size ? undefined : data.slice(size);
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = data.startsWith("0\r\n\r\n")
      ? 0
      : data.indexOf("\r\n0\r\n\r\n");
    if (last === -1) return undefined;
    return data.slice(last + (last === 0 ? 5 : 7));
  }
  return data;
}
