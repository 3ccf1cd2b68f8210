// RSA keys with Node's native crypto: generated off the event loop (libuv's thread pool), and a
// signer that node-forge can call, so forge builds the certificate and OpenSSL does the RSA math.
import { constants, createPrivateKey, createPublicKey, generateKeyPair, privateEncrypt, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPair {
  /** PKCS#1 PEM ("RSA PRIVATE KEY"), as cfssljson writes `<name>-key.pem`. */
  privatePem: string;
  /** SPKI PEM ("PUBLIC KEY"). */
  publicPem: string;
  privateKey: KeyObject;
}

/** Why: forge's pure-JS generator takes seconds per key; native async keeps the event loop free. */
export async function generateRsaKey(bits: number): Promise<KeyPair> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return keyPairOf(privateKey);
}

/** PEM forms of a key, as the files hold them. */
export function keyPairOf(privateKey: KeyObject): KeyPair {
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    privateKey,
  };
}

/** Parse a PEM private key (PKCS#1 or PKCS#8, as cfssl or openssl write it). Throws on anything else. */
export function readPrivateKey(pem: string): KeyObject {
  return createPrivateKey({ key: pem, format: 'pem' });
}

/** The DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** The part of a forge message digest the signer reads. */
interface ForgeDigest {
  algorithm: string;
  digest(): { getBytes(): string };
}

/** An object with forge's `sign(md)` shape that signs with OpenSSL: RSASSA-PKCS1-v1_5, SHA-256. */
export interface NativeSigner {
  sign(md: ForgeDigest): string;
}

/** Why: forge's pure-JS RSA takes ~26 ms per signature here; OpenSSL under 1 ms, same bytes. */
export function nativeSigner(privateKey: KeyObject): NativeSigner {
  return {
    sign(md) {
      if (md.algorithm !== 'sha256') throw new Error(`refusing to sign with ${md.algorithm}: certificates use sha256`);
      const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')]);
      return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
}
