import { generate } from 'selfsigned';

/**
 * A throwaway self-signed certificate for `localhost` and `127.0.0.1` (EC P-256, SHA-256, valid one day), made in
 * memory with the `selfsigned` devDependency: no key is kept in the repository, and no `openssl` binary is needed,
 * so a machine with only Node and npm can run the TLS tests and the bench's `--tls`.
 *
 * @example
 * const { key, cert } = await selfSignedCertificate();
 * const server = createServer({ key, cert }, handler); // node:https
 */
export async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 24 * 3600_000),
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
