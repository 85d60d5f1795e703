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
 * Answer every request on `socket` with `respond(requestHead)` once its
 * head arrived (requests without bodies only).
 */
export function onRequests(
  socket: Socket,
  respond: (head: string, index: number) => void,
): void {
  let buffered = "";
  let index = 0;
  socket.on("data", (chunk) => {
    buffered += chunk.toString("latin1");
    for (let end = buffered.indexOf("\r\n\r\n"); end !== -1;) {
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      respond(head, index++);
      end = buffered.indexOf("\r\n\r\n");
    }
  });
}
