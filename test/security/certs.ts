import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Client certificates by common name: { cert, key }. */
  clients: Record<string, { cert: string; key: string }>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A throwaway CA in a temp dir (EC P-256, one day), a server certificate for 127.0.0.1 /
 * localhost, and one client certificate per common name, all signed by the CA.
 */
export function makeTestPki(clientNames: string[]): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'mqft-pki-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=mqft test CA',
    ],
    dir,
  );
  const issue = (name: string, cn: string, ext: string) => {
    openssl(
      ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
      dir,
    );
    const extFile = path.join(dir, `${name}.ext`);
    writeFileSync(extFile, `${ext}\n`);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        extFile,
      ],
      dir,
    );
    return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  };
  const server = issue(
    'server',
    '127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
  );
  const clients: TestPki['clients'] = {};
  for (const cn of clientNames)
    clients[cn] = issue(`client-${cn}`, cn, 'extendedKeyUsage=clientAuth');
  return {
    dir,
    ca: path.join(dir, 'ca.pem'),
    serverCert: server.cert,
    serverKey: server.key,
    clients,
  };
}
