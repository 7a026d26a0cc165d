/** Test certificates made with `openssl` at test time: a self-signed localhost certificate as PEM and as PKCS#12. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  pfxFile: string;
  password: string;
  /** The certificate, to trust it as a CA in clients. */
  cert: Buffer;
}

export function makeTestCertificate(dir: string, password = 'abcd', pfxName = 'cert.pfx'): TestCertificate {
  fs.mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const pfxFile = path.join(dir, pfxName);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  execFileSync('openssl', ['pkcs12', '-export', '-in', certFile, '-inkey', keyFile, '-out', pfxFile, '-passout', `pass:${password}`], { stdio: 'ignore' });
  return { certFile, keyFile, pfxFile, password, cert: fs.readFileSync(certFile) };
}
