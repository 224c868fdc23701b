/** One HTTP API call's outcome: status and parsed JSON body. */
export interface HttpOutcome {
  status: number;
  body: unknown;
  headers: Headers;
}

/**
 * Calls the HTTP API with a bearer token (or none) and a JSON body (or a raw string, sent as is).
 *
 * @example
 * const { status, body } = await callApi(target.httpUrl, 'POST', '/websocket/message/user', token, { userId, type, data });
 */
export async function callApi(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<HttpOutcome> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Left as text: the assertion will show it.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
