import {
  bearerTokenOf,
  chooseSubprotocol,
  extractToken,
  headerValue,
  offersNoEchoableSubprotocol,
} from '../../lambdas/core/token-carriers';
import { bearerSubprotocolPrefix, webSocketSubprotocol } from '../../lambdas/routes';

const jwtA = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnLWE';
const jwtB = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnLWI';
const jwtC = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjIn0.c2lnLWM';

describe('extractToken', () => {
  it('takes an Authorization bearer header, whatever the case of its name and scheme', () => {
    expect(extractToken({ headers: { Authorization: `Bearer ${jwtA}` } })).toEqual({
      token: jwtA,
      carrier: 'authorization-header',
    });
    expect(extractToken({ headers: { authorization: `bearer ${jwtA}` } })?.token).toBe(jwtA);
    expect(extractToken({ headers: { AUTHORIZATION: `BEARER   ${jwtA}  ` } })?.token).toBe(jwtA);
  });

  it('takes the bearer entry of the Sec-WebSocket-Protocol header', () => {
    // GIVEN what a browser sends for new WebSocket(url, ['realtime-gateway.v1', 'bearer.' + jwt])
    const headers = { 'Sec-WebSocket-Protocol': `${webSocketSubprotocol}, ${bearerSubprotocolPrefix}${jwtB}` };

    // THEN
    expect(extractToken({ headers })).toEqual({ token: jwtB, carrier: 'subprotocol' });
    expect(extractToken({ headers: { 'sec-websocket-protocol': `bearer.${jwtB},realtime-gateway.v1` } })?.token).toBe(
      jwtB,
    );
  });

  it('takes the token query parameter last', () => {
    expect(extractToken({ headers: {}, queryStringParameters: { token: jwtC } })).toEqual({
      token: jwtC,
      carrier: 'query',
    });
  });

  it('prefers the header, then the subprotocol, then the query', () => {
    const all = {
      headers: { Authorization: `Bearer ${jwtA}`, 'Sec-WebSocket-Protocol': `realtime-gateway.v1, bearer.${jwtB}` },
      queryStringParameters: { token: jwtC },
    };
    expect(extractToken(all)?.carrier).toBe('authorization-header');
    expect(
      extractToken({ ...all, headers: { 'Sec-WebSocket-Protocol': all.headers['Sec-WebSocket-Protocol'] } }),
    ).toEqual({ token: jwtB, carrier: 'subprotocol' });
  });

  it('ignores a non-bearer Authorization header and falls back to the next carrier', () => {
    const request = { headers: { Authorization: 'Basic dXNlcjpwYXNz' }, queryStringParameters: { token: jwtC } };
    expect(extractToken(request)).toEqual({ token: jwtC, carrier: 'query' });
  });

  it.each([
    ['no headers and no query', {}],
    ['null maps, as API Gateway may send', { headers: null, queryStringParameters: null }],
    ['an empty bearer', { headers: { Authorization: 'Bearer ' } }],
    ['a bearer with two words', { headers: { Authorization: `Bearer ${jwtA} extra` } }],
    ['only the version subprotocol', { headers: { 'Sec-WebSocket-Protocol': 'realtime-gateway.v1' } }],
    ['an empty bearer subprotocol', { headers: { 'Sec-WebSocket-Protocol': 'realtime-gateway.v1, bearer.' } }],
    ['an empty token parameter', { queryStringParameters: { token: '' } }],
    ['another query parameter', { queryStringParameters: { access_token: jwtC } }],
  ])('finds nothing in %s', (_name, request) => {
    expect(extractToken(request)).toBeUndefined();
  });
});

describe('chooseSubprotocol', () => {
  it('chooses realtime-gateway.v1 when offered, never the bearer entry', () => {
    expect(chooseSubprotocol({ 'Sec-WebSocket-Protocol': `bearer.${jwtB}, realtime-gateway.v1` })).toBe(
      'realtime-gateway.v1',
    );
  });

  it.each([
    [{}],
    [{ 'Sec-WebSocket-Protocol': `bearer.${jwtB}` }],
    [{ 'Sec-WebSocket-Protocol': 'realtime-gateway.v2, chat' }],
  ])('chooses nothing for %j', (headers) => {
    expect(chooseSubprotocol(headers)).toBeUndefined();
  });
});

// Issue 9, defect 2: a lone bearer entry was accepted and registered, while the client (browser or ws) fails a
// handshake whose answer echoes none of the subprotocols it offered.
describe('offersNoEchoableSubprotocol', () => {
  it.each([
    ['a lone bearer entry', { 'Sec-WebSocket-Protocol': `bearer.${jwtB}` }],
    ['a bearer entry with another protocol', { 'sec-websocket-protocol': `chat, bearer.${jwtB}` }],
    [
      'another protocol beside an Authorization header',
      { Authorization: `Bearer ${jwtA}`, 'Sec-WebSocket-Protocol': 'graphql-ws' },
    ],
  ])('is true for %s: nothing the server could echo', (_, headers) => {
    expect(offersNoEchoableSubprotocol(headers)).toBe(true);
  });

  it.each([
    ['no subprotocol at all', { Authorization: `Bearer ${jwtA}` }],
    ['an empty header', { 'Sec-WebSocket-Protocol': ' , ' }],
    ['the documented browser offer', { 'Sec-WebSocket-Protocol': `${webSocketSubprotocol}, bearer.${jwtB}` }],
    ['the protocol alone', { 'Sec-WebSocket-Protocol': webSocketSubprotocol }],
  ])('is false for %s', (_, headers) => {
    expect(offersNoEchoableSubprotocol(headers)).toBe(false);
  });
});

describe('headerValue and bearerTokenOf', () => {
  it('finds a header whatever its case', () => {
    expect(headerValue({ 'X-Custom': 'v' }, 'x-custom')).toBe('v');
    expect(headerValue(undefined, 'x-custom')).toBeUndefined();
  });

  it('reads only the Authorization header', () => {
    expect(bearerTokenOf({ authorization: `Bearer ${jwtA}` })).toBe(jwtA);
    expect(bearerTokenOf({ 'Sec-WebSocket-Protocol': `bearer.${jwtB}` })).toBeUndefined();
  });
});
