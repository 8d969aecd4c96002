// Python's ssl.OPENSSL_VERSION and OPENSSL_VERSION_NUMBER, of the OpenSSL inside Node.
import { versionNumber } from '../sys/openssl.js';

/** The OpenSSL version number (0 when OpenSSL is unreachable). */
export const OPENSSL_VERSION_NUMBER: number = versionNumber();
/** 'OpenSSL 3.0.x' as Node reports it. */
export const OPENSSL_VERSION = `OpenSSL ${process.versions.openssl ?? 'unavailable'}`;
