import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Server, type Socket } from 'socket.io';
import { createEnvelope, type Envelope, ServerFrameType } from '../lambdas/core/envelope';
import { type BenchIdentity, verifyBenchToken } from './tokens';

/**
 * The service this product replaces, rebuilt the way it was for the benchmark's comparison: one Express 5 +
 * socket.io 4 process, the JWT checked in the socket.io handshake, an in-memory `Map<userId, Set<socket>>`, and
 * the same HTTP endpoints, bodies and envelopes as the product's HTTP API. It does its work the plain, efficient
 * way such a service would (no artificial slowness), so the comparison is fair: what it cannot do is scale past
 * one process, survive a restart, or hold a connection through a deploy.
 */

export interface ReferenceServerOptions {
  /** HS256 secret the tokens are verified with (the same one the local stack uses in the benchmark). */
  jwtSecret: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
}

export interface ReferenceServer {
  /** Base URL of both the socket.io endpoint and the HTTP API, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Sockets currently connected. */
  connectionCount(): number;
  stop(): Promise<void>;
}

/** The socket.io event every pushed envelope travels on. */
export const referenceMessageEvent = 'message' satisfies keyof ServerToClientEvents;

/** Same limits as the product's HTTP API: API Gateway's message size, and a bounded `userIds` list. */
const maxEnvelopeBytes = 128 * 1024;
const maxUserIds = 100;
const messageTypePattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const broadcastPermission = 'ws:broadcast';
const adminPermission = 'ws:admin';
const defaultPageSize = 100;

interface SocketData {
  identity: BenchIdentity;
  connectedAt: string;
}

/** The only event the server emits; clients send no events of their own. */
interface ServerToClientEvents {
  message: (envelope: Envelope) => void;
}
type NoEvents = Record<string, never>;
type UserSocket = Socket<NoEvents, ServerToClientEvents, NoEvents, SocketData>;

/** An error whose status and message the client may see; anything else answers a bare 500. */
class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  constructor(statusCode: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
  }
}

function bearerTokenOf(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.trim().length === 0) {
    throw new HttpError(400, 'validation_error', `"${field}" must be a non-empty string`);
  }
  return value;
}

function requireMessageType(body: Record<string, unknown>): string {
  const type = requireString(body, 'type');
  if (!messageTypePattern.test(type)) {
    throw new HttpError(400, 'validation_error', '"type" must be 1 to 64 characters from A-Z a-z 0-9 _ . : -');
  }
  return type;
}

function requireBody(request: Request): Record<string, unknown> {
  const body: unknown = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'validation_error', 'The body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function requireSize(envelope: Envelope): void {
  if (Buffer.byteLength(JSON.stringify(envelope)) > maxEnvelopeBytes) {
    throw new HttpError(413, 'payload_too_large', `The message exceeds ${maxEnvelopeBytes} bytes once serialized`);
  }
}

/**
 * Starts the reference server; resolves once it listens.
 *
 * @example
 * const server = await startReferenceServer({ jwtSecret: secret, port: 0 });
 * // socket.io clients connect to server.url with auth.token; HTTP goes to `${server.url}/websocket/...`
 * await server.stop();
 */
export async function startReferenceServer(options: ReferenceServerOptions): Promise<ReferenceServer> {
  const { jwtSecret } = options;
  const socketsByUser = new Map<string, Set<UserSocket>>();
  const app = express();
  const httpServer = createServer(app);
  const io = new Server<NoEvents, ServerToClientEvents, NoEvents, SocketData>(httpServer, { serveClient: false });

  io.use(async (socket, next) => {
    const auth: unknown = socket.handshake.auth;
    const authToken =
      typeof auth === 'object' && auth !== null && 'token' in auth && typeof auth.token === 'string'
        ? auth.token
        : undefined;
    const token = authToken ?? bearerTokenOf(socket.handshake.headers.authorization);
    if (!token) return next(new Error('unauthorized: a token is required (auth.token or Authorization header)'));
    try {
      socket.data.identity = await verifyBenchToken(jwtSecret, token);
      socket.data.connectedAt = new Date().toISOString();
      next();
    } catch {
      next(new Error('unauthorized: the token is invalid or expired'));
    }
  });

  io.on('connection', (socket) => {
    const { userId } = socket.data.identity;
    let sockets = socketsByUser.get(userId);
    if (!sockets) {
      sockets = new Set();
      socketsByUser.set(userId, sockets);
    }
    sockets.add(socket);
    socket.on('disconnect', () => {
      const remaining = socketsByUser.get(userId);
      remaining?.delete(socket);
      if (remaining?.size === 0) socketsByUser.delete(userId);
    });
  });

  function deliverToUsers(userIds: readonly string[], envelope: Envelope) {
    const recipients: { userId: string; connections: number }[] = [];
    const offline: string[] = [];
    for (const userId of userIds) {
      const sockets = socketsByUser.get(userId);
      if (!sockets || sockets.size === 0) {
        offline.push(userId);
        continue;
      }
      for (const socket of sockets) socket.emit(referenceMessageEvent, envelope);
      recipients.push({ userId, connections: sockets.size });
    }
    return { messageId: envelope.id, timestamp: envelope.timestamp, recipients, offline };
  }

  async function authenticate(request: Request): Promise<BenchIdentity> {
    const token = bearerTokenOf(request.headers.authorization);
    if (!token) throw new HttpError(401, 'unauthorized', 'A valid bearer token is required');
    try {
      return await verifyBenchToken(jwtSecret, token);
    } catch {
      throw new HttpError(401, 'unauthorized', 'A valid bearer token is required');
    }
  }

  function requirePermission(identity: BenchIdentity, permission: string): void {
    if (!identity.permissions.has(permission)) {
      throw new HttpError(403, 'forbidden', `This operation needs the permission ${permission}`);
    }
  }

  function statusOf(userId: string) {
    const sockets = [...(socketsByUser.get(userId) ?? [])];
    return {
      userId,
      connected: sockets.length > 0,
      connectionCount: sockets.length,
      connections: sockets.map((socket) => ({ connectedAt: socket.data.connectedAt })),
    };
  }

  app.use(express.json({ limit: '1mb' }));

  app.post('/websocket/message/user', async (request, response) => {
    const sender = await authenticate(request);
    const body = requireBody(request);
    const userId = requireString(body, 'userId');
    const envelope = createEnvelope(requireMessageType(body), body.data ?? null, { from: sender.userId });
    requireSize(envelope);
    response.json(deliverToUsers([userId], envelope));
  });

  app.post('/websocket/message/users', async (request, response) => {
    const sender = await authenticate(request);
    const body = requireBody(request);
    const { userIds } = body;
    if (
      !Array.isArray(userIds) ||
      userIds.length === 0 ||
      userIds.length > maxUserIds ||
      !userIds.every((id) => typeof id === 'string' && id.trim().length > 0)
    ) {
      throw new HttpError(400, 'validation_error', `"userIds" must be 1 to ${maxUserIds} non-empty strings`);
    }
    if (new Set(userIds).size !== userIds.length) {
      throw new HttpError(400, 'validation_error', '"userIds" must not repeat an id');
    }
    const envelope = createEnvelope(requireMessageType(body), body.data ?? null, { from: sender.userId });
    requireSize(envelope);
    response.json(deliverToUsers(userIds as string[], envelope));
  });

  app.post('/websocket/message/broadcast', async (request, response) => {
    const sender = await authenticate(request);
    requirePermission(sender, broadcastPermission);
    const body = requireBody(request);
    const envelope = createEnvelope(requireMessageType(body), body.data ?? null, { from: sender.userId });
    requireSize(envelope);
    // socket.io serializes once and writes the same frame to every socket: the usual way to broadcast with it.
    io.emit(referenceMessageEvent, envelope);
    response.json({ messageId: envelope.id, timestamp: envelope.timestamp, connections: io.of('/').sockets.size });
  });

  app.post('/websocket/notification', async (request, response) => {
    const sender = await authenticate(request);
    const body = requireBody(request);
    const userId = requireString(body, 'userId');
    const title = requireString(body, 'title');
    const text = requireString(body, 'body');
    const extra = body.data;
    if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) {
      throw new HttpError(400, 'validation_error', '"data" must be a JSON object when present');
    }
    const envelope = createEnvelope(
      ServerFrameType.notification,
      { title, body: text, ...(extra as Record<string, unknown> | undefined) },
      { from: sender.userId },
    );
    requireSize(envelope);
    response.json(deliverToUsers([userId], envelope));
  });

  app.get('/websocket/users/connected', async (request, response) => {
    requirePermission(await authenticate(request), adminPermission);
    const limitText = typeof request.query.limit === 'string' ? request.query.limit : String(defaultPageSize);
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new HttpError(400, 'validation_error', '"limit" must be an integer from 1 to 1000');
    }
    const cursorText = typeof request.query.cursor === 'string' ? request.query.cursor : '0';
    const offset = Number(cursorText);
    if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'validation_error', '"cursor" is invalid');
    const users = [...socketsByUser.keys()].slice(offset, offset + limit);
    const nextOffset = offset + users.length;
    response.json({ users, ...(nextOffset < socketsByUser.size ? { nextCursor: String(nextOffset) } : {}) });
  });

  app.get('/websocket/users/:userId/status', async (request, response) => {
    const caller = await authenticate(request);
    const userId = String(request.params.userId);
    if (userId !== caller.userId) requirePermission(caller, adminPermission);
    response.json(statusOf(userId));
  });

  app.get('/websocket/me/status', async (request, response) => {
    response.json(statusOf((await authenticate(request)).userId));
  });

  app.delete('/websocket/users/:userId/disconnect', async (request, response) => {
    const caller = await authenticate(request);
    const userId = String(request.params.userId);
    if (userId !== caller.userId) requirePermission(caller, adminPermission);
    const sockets = [...(socketsByUser.get(userId) ?? [])];
    for (const socket of sockets) socket.disconnect(true);
    response.json({ userId, disconnected: sockets.length });
  });

  app.use((request, _response, next) => {
    next(new HttpError(404, 'not_found', `No route ${request.method} ${request.path}`));
  });

  // Express needs all four parameters to recognise an error handler.
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const { statusCode, code, message } = toClientError(error);
    response.status(statusCode).json({ error: { code, message } });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = httpServer.address() as AddressInfo;

  return {
    url: `http://${address.address}:${address.port}`,
    connectionCount: () => io.of('/').sockets.size,
    stop: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

/** Maps body-parser's and our own errors to a status the client may see; anything else is a bare 500. */
function toClientError(error: unknown): { statusCode: number; code: string; message: string } {
  if (error instanceof HttpError) return { statusCode: error.statusCode, code: error.code, message: error.message };
  const type = typeof error === 'object' && error !== null && 'type' in error ? error.type : undefined;
  if (type === 'entity.parse.failed') return { statusCode: 400, code: 'invalid_json', message: 'Malformed JSON body' };
  if (type === 'entity.too.large') {
    return { statusCode: 413, code: 'payload_too_large', message: 'The request body is too large' };
  }
  return { statusCode: 500, code: 'internal_error', message: 'Internal server error' };
}
