// getpeercert()'s dict, as Python builds it, decoded from the DER with Node's X509Certificate
// (a copy of the bytes: nothing here points into OpenSSL's memory).
import { X509Certificate } from 'node:crypto';

/** One relative distinguished name: `[['commonName', 'example.com']]`. */
export type RDN = Array<[name: string, value: string]>;

/** Python's getpeercert() dict. */
export interface PeerCert {
  subject: RDN[];
  issuer: RDN[];
  version: number;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  subjectAltName?: Array<[kind: string, value: string]>;
}

// OpenSSL's short names to the long names Python prints.
const LONG: Record<string, string> = {
  C: 'countryName', ST: 'stateOrProvinceName', L: 'localityName', O: 'organizationName',
  OU: 'organizationalUnitName', CN: 'commonName', emailAddress: 'emailAddress', DC: 'domainComponent',
  serialNumber: 'serialNumber', street: 'streetAddress', UID: 'userId', title: 'title', GN: 'givenName',
  SN: 'surname', initials: 'initials', pseudonym: 'pseudonym', dnQualifier: 'dnQualifier',
  postalCode: 'postalCode', businessCategory: 'businessCategory',
};

function rdns(text: string): RDN[] {
  const out: RDN[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const rdn: RDN = [];
    for (const part of line.split('+')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      const key = part.slice(0, eq);
      rdn.push([LONG[key] ?? key, part.slice(eq + 1)]);
    }
    if (rdn.length) out.push(rdn);
  }
  return out;
}

// The X.509 version from the DER: [0] EXPLICIT INTEGER right after the TBSCertificate header.
function versionOf(der: Buffer): number {
  let i = 0;
  const skipHeader = (): void => {
    i++; // tag
    const len = der[i++]!;
    if (len & 0x80) i += len & 0x7f;
  };
  skipHeader(); // Certificate SEQUENCE
  skipHeader(); // TBSCertificate SEQUENCE
  if (der[i] === 0xa0 && der[i + 2] === 0x02 && der[i + 3] === 0x01) return der[i + 4]! + 1;
  return 1;
}

function altNames(text: string | undefined): Array<[string, string]> | undefined {
  if (!text) return undefined;
  const out: Array<[string, string]> = [];
  for (const item of text.split(', ')) {
    const c = item.indexOf(':');
    if (c < 0) continue;
    let v = item.slice(c + 1);
    if (v.startsWith('"') && v.endsWith('"')) v = JSON.parse(v) as string;
    out.push([item.slice(0, c), v]);
  }
  return out;
}

/** Python's getpeercert() dict for a DER certificate. */
export function decodeCert(der: Buffer): PeerCert {
  const x = new X509Certificate(der);
  const cert: PeerCert = {
    subject: rdns(x.subject),
    issuer: rdns(x.issuer),
    version: versionOf(der),
    serialNumber: x.serialNumber.toUpperCase(),
    notBefore: x.validFrom,
    notAfter: x.validTo,
  };
  const san = altNames(x.subjectAltName);
  if (san) cert.subjectAltName = san;
  return cert;
}
