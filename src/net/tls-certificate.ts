/**
 * castline's one TLS certificate, for RTMPS (node's TLS) and HTTPS/WSS (uWebSockets.js, which
 * reads PEM files only): a PKCS#12 file (mmids' `tls_cert_path` + `tls_cert_password`) is
 * unpacked with node-forge into PEM files under `{STATE_PATH}/tls/` (mode 0600); PEM files
 * (TLS_CERT_FILE + TLS_KEY_FILE) are used as they are.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import forge from 'node-forge';
import type { TlsFiles } from '../config/config';

export interface TlsMaterial {
  /** For node's `tls.createServer`. */
  context: SecureContextOptions;
  /** For uWebSockets.js `SSLApp`. */
  pem: { certFile: string; keyFile: string };
}

export function loadTlsMaterial(files: TlsFiles, stateDir: string): TlsMaterial {
  if (files.kind === 'pem') {
    return {
      context: { cert: fs.readFileSync(files.certPath), key: fs.readFileSync(files.keyPath) },
      pem: { certFile: files.certPath, keyFile: files.keyPath },
    };
  }
  const pfx = fs.readFileSync(files.path);
  const { certs, key } = unpackPfx(pfx, files.password, files.path);
  const dir = path.join(stateDir, 'tls');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, certs, { mode: 0o600 });
  fs.writeFileSync(keyFile, key, { mode: 0o600 });
  fs.chmodSync(keyFile, 0o600);
  return { context: { pfx, passphrase: files.password }, pem: { certFile, keyFile } };
}

/** The certificate chain (server certificate first) and the private key of a PKCS#12 file, as PEM. */
export function unpackPfx(pfx: Buffer, password: string, name: string): { certs: string; key: string } {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(pfx.toString('binary')), password);
  } catch (err) {
    throw new Error(`TLS_CERT_PATH (tls_cert_path) ${name} cannot be opened with TLS_CERT_PASSWORD (tls_cert_password): ${(err as Error).message}`);
  }
  const { oids } = forge.pki;
  const certBags = p12.getBags({ bagType: oids.certBag })[oids.certBag] ?? [];
  const keyBags = [
    ...(p12.getBags({ bagType: oids.pkcs8ShroudedKeyBag })[oids.pkcs8ShroudedKeyBag] ?? []),
    ...(p12.getBags({ bagType: oids.keyBag })[oids.keyBag] ?? []),
  ];
  const key = keyBags.find((b) => b.key !== undefined)?.key;
  const certs = certBags.flatMap((b) => (b.cert === undefined ? [] : [b.cert]));
  if (key === undefined || certs.length === 0) throw new Error(`TLS_CERT_PATH (tls_cert_path) ${name} holds no ${key === undefined ? 'private key' : 'certificate'}`);
  // The certificate whose public key matches the private key goes first (the leaf), then the chain.
  const modulus = (key as forge.pki.rsa.PrivateKey).n?.toString(16);
  const leafIndex = Math.max(0, certs.findIndex((c) => (c.publicKey as forge.pki.rsa.PublicKey).n?.toString(16) === modulus));
  const ordered = [certs[leafIndex], ...certs.filter((_, k) => k !== leafIndex)];
  return { certs: ordered.map((c) => forge.pki.certificateToPem(c)).join(''), key: forge.pki.privateKeyToPem(key) };
}
