import type { IncomingMessage } from 'node:http';

/** The headers API Gateway adds to every request it forwards, named as it names them. */
export function forwardingHeaders(request: IncomingMessage): Record<string, string> {
  return {
    'X-Forwarded-For': sourceIpOf(request),
    'X-Forwarded-Port': String(request.socket.localPort ?? ''),
    'X-Forwarded-Proto': 'http',
  };
}

/**
 * Headers as API Gateway v1 events carry them (WebSocket events and the REQUEST authorizer): original casing,
 * last value in `headers`, every value in `multiValueHeaders`, plus the forwarding headers.
 *
 * @example
 * const { headers, multiValueHeaders } = caseKeptHeaders(request);
 */
export function caseKeptHeaders(request: IncomingMessage): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index];
    const value = request.rawHeaders[index + 1];
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  for (const [name, value] of Object.entries(forwardingHeaders(request))) {
    headers[name] = value;
    multiValueHeaders[name] = [value];
  }
  return { headers, multiValueHeaders };
}

/** The request's query string parameters, v1 style (`undefined` when there are none, like API Gateway). */
export function queryParameters(url: URL): {
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
} {
  const single: Record<string, string> = {};
  const multiple: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    single[name] = value;
    multiple[name] = [...(multiple[name] ?? []), value];
  }
  if (Object.keys(single).length === 0) return {};
  return { queryStringParameters: single, multiValueQueryStringParameters: multiple };
}

/** The caller's address without the IPv4-mapped IPv6 prefix, as API Gateway reports `sourceIp`. */
export function sourceIpOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? '127.0.0.1';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Reads a request body up to `limitBytes`; returns `undefined` when it is larger (the caller answers 413). */
export async function readBody(request: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) tooLarge = true;
    if (!tooLarge) chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}
