/**
 * What one client can hold of the server besides its requests: connections and answer bytes.
 *
 * - A connection without a request in progress (new, or kept alive after an answer) is closed
 *   once `headerSeconds` pass without a request's complete headers. Node's own `headersTimeout`
 *   and `requestTimeout` start with the first byte, so a socket that sends nothing would stay
 *   open forever without this timer.
 * - At most `maxConnections` are open. At the cap, a new connection evicts the oldest idle one
 *   (silent, slow headers or kept alive), so idle sockets cannot lock real clients out; only when
 *   every connection carries a request is the newcomer closed. Set the cap below the descriptor
 *   limit (ulimit -n), so the server never fails to accept for want of descriptors.
 * - An answer must be sent within `sendSeconds` (else the connection is closed), and the answers
 *   still held for slow readers total at most `maxAnswerBytes`: beyond, a new check is refused
 *   with 503 before it is computed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  readonly headerSeconds: number;
  readonly maxConnections: number;
}

/** Live counts, for `/api/info`-style reporting and tests. */
export interface ConnectionGuard {
  /** connections open now */
  readonly open: () => number;
  /** connections closed for sending no request within headerSeconds (new or kept alive), or evicted at the cap */
  readonly closedIdle: () => number;
  /**
   * For a graceful stop (SIGTERM): closes every idle connection now, and each busy one as soon as
   * its answer is sent, so the server's close waits for the requests in flight and nothing else.
   */
  readonly drain: () => void;
}

/** Installs the idle timer and the connection cap on `server` (see the module comment). */
export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  const open = new Set<Socket>();
  /** requests in progress per connection */
  const busy = new Map<Socket, number>();
  /** connections with no request in progress (new, or kept alive between requests), oldest first; Maps keep insertion order */
  const idle = new Map<Socket, NodeJS.Timeout>();
  let closedIdle = 0;
  let draining = false;
  const active = (socket: Socket): void => {
    clearTimeout(idle.get(socket));
    idle.delete(socket);
  };
  const closeIdle = (socket: Socket): void => {
    active(socket);
    closedIdle++;
    socket.destroy();
  };
  const waitIdle = (socket: Socket): void => {
    const timer = setTimeout(() => closeIdle(socket), limits.headerSeconds * 1000);
    timer.unref();
    idle.set(socket, timer);
  };
  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      const oldest = idle.keys().next();
      if (oldest.done) {
        socket.destroy(); // every open connection carries a request: no room
        return;
      }
      closeIdle(oldest.value);
    }
    open.add(socket);
    waitIdle(socket);
    socket.once('close', () => {
      active(socket);
      busy.delete(socket);
      open.delete(socket);
    });
  });
  // the headers are complete: the request's own time limits apply until its answer is sent
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket;
    active(socket);
    if (draining) res.shouldKeepAlive = false;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    let counted = true;
    const done = (): void => {
      if (!counted) return;
      counted = false;
      const n = (busy.get(socket) ?? 1) - 1;
      busy.set(socket, n);
      if (n === 0 && draining) socket.destroySoon();
      else if (n === 0 && !socket.destroyed && open.has(socket)) waitIdle(socket); // kept alive: idle again
    };
    res.once('finish', done);
    res.once('close', done);
  };
  server.on('request', onRequest);
  server.on('checkContinue', onRequest);
  const drain = (): void => {
    draining = true;
    for (const socket of [...idle.keys()]) closeIdle(socket);
  };
  return { open: () => open.size, closedIdle: () => closedIdle, drain };
}

/** The answer bytes held for clients that have not read them yet, bounded in total. */
export class AnswerBudget {
  #held = 0;

  constructor(
    readonly maxBytes: number,
    readonly sendSeconds: number,
  ) {}

  /** Bytes of answers written but not yet read by their clients. */
  get held(): number {
    return this.#held;
  }

  /** Whether a new answer may be computed now. */
  get full(): boolean {
    return this.#held >= this.maxBytes;
  }

  /**
   * Counts `bytes` against the budget until `res` is sent or its connection closes, and closes a
   * connection that has not taken its answer within `sendSeconds`.
   */
  hold(res: ServerResponse, bytes: number): void {
    this.#held += bytes;
    const timer = setTimeout(() => res.destroy(), this.sendSeconds * 1000);
    timer.unref();
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#held -= bytes;
    };
    res.once('finish', release);
    res.once('close', release);
  }
}

/**
 * A client that sent `Expect: 100-continue` waits for the server's go before its body. Node
 * answers `100 Continue` at once unless the server listens for 'checkContinue'; here the route
 * decides (it refuses an over-limit client before the body, see server.ts), so the request goes
 * on unanswered and the route calls `writeContinue()` once it admits it.
 */
export function deferContinue(server: Server): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
}

/**
 * Reads and drops a request body up to `maxBytes` within `seconds`, so that an answer sent
 * afterwards with `Connection: close` reaches a client that was still sending; a longer or slower
 * body is cut off (the answer then goes out regardless).
 */
export function discardBody(req: IncomingMessage, maxBytes: number, seconds: number): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let bytes = 0;
    const finish = (): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', finish);
      req.off('close', finish);
      req.pause();
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > maxBytes) finish();
    };
    const timer = setTimeout(finish, seconds * 1000);
    req.on('data', onData);
    req.once('end', finish);
    req.once('close', finish);
    req.resume();
  });
}
